"""Demo monitoring: two watch rules and a morning of posts, so the monitoring board shows
topics, near-duplicate reposts, sentiment, an alert and a proposal on first start."""

from datetime import timedelta

from django.utils import timezone

from organisation.models import Unit, User

from .intake.batches import posts_ingest
from .models import WatchRule
from .text.matching import rule_create
from .topics.refresh import topics_refresh

# (minutes ago, platform, source type, author, text, reads, reposts, comments)
_POSTS = [
    (
        170,
        "weibo",
        "social_account",
        "市民小李",
        "市第一医院门诊被重复收费，缴费单据上同一项检查收了两次，多收了三百多元，找了三次都说要等。",
        320,
        41,
        66,
    ),
    (
        160,
        "weibo",
        "social_account",
        "路过的网友",
        "转发 //@市民小李: 市第一医院门诊被重复收费，缴费单据上同一项检查收了两次，多收了三百多元，"
        "找了三次都说要等。",
        80,
        3,
        5,
    ),
    (
        150,
        "weibo",
        "social_account",
        "健康生活家",
        "#医院收费# 市第一医院门诊被重复收费，缴费单据上同一项检查收了两次，多收了三百多元，"
        "找了三次都说要等。",
        150,
        12,
        9,
    ),
    (
        140,
        "toutiao",
        "news_site",
        "本地资讯",
        "网友反映市第一医院重复收费，医院称已关注并核查收费记录，将尽快回复患者。",
        900,
        30,
        48,
    ),
    (
        120,
        "weibo",
        "social_account",
        "老王看病记",
        "我在市第一医院也遇到过重复收费，投诉无门，太气愤了，强烈要求严查！",
        60,
        2,
        14,
    ),
    (
        100,
        "tieba",
        "forum",
        "吧友甲",
        "市第一医院重复收费的事有后续吗？医院说核查，到现在没有结果，很失望。",
        45,
        0,
        22,
    ),
    (
        80,
        "weibo",
        "social_account",
        "热心市民",
        "医院乱收费的问题说了多少年了，希望这次卫健委认真查一查，给患者一个说法。",
        210,
        18,
        35,
    ),
    (
        60,
        "wechat",
        "social_account",
        "城市生活圈",
        "市第一医院收费风波：患者晒出单据称被多收费，医院回应正在逐项核对。",
        1500,
        60,
        80,
    ),
    (
        40,
        "weibo",
        "social_account",
        "患者家属",
        "第一医院的收费太乱了，重复收费还不退款，服务态度也很差，再也不去了。",
        95,
        4,
        17,
    ),
    (
        20,
        "weibo",
        "social_account",
        "小张",
        "医院收费一定要公开透明，重复收费必须退款，严肃处理相关责任人！",
        130,
        9,
        21,
    ),
    (
        150,
        "douyin",
        "social_account",
        "教育观察",
        "某中学食堂饭菜份量不足、价格上涨，家长反映学校收费不透明，希望教育局关注。",
        2400,
        150,
        300,
    ),
    (
        110,
        "weibo",
        "social_account",
        "家长群",
        "转发 //@教育观察: 某中学食堂饭菜份量不足、价格上涨，"
        "家长反映学校收费不透明，希望教育局关注。",
        300,
        20,
        25,
    ),
    (
        70,
        "toutiao",
        "news_site",
        "教育快讯",
        "市教育局：已责成学校公示食堂收费标准，欢迎家长监督。",
        800,
        15,
        40,
    ),
    (
        30,
        "weibo",
        "social_account",
        "开心每一天",
        "今天天气晴好，带孩子去公园看菊花展，心情非常愉快。",
        40,
        1,
        3,
    ),
]


def demo_monitoring_load(*, people: dict[str, User]) -> int:
    """Load the demo rules and posts once; answers how many posts were stored."""
    if WatchRule.objects.exists():
        return 0
    analyst = people["analyst"]
    rule_create(
        actor=analyst,
        name="医院收费投诉",
        expression="医院 AND (收费 OR 投诉 OR 退款)",
        unit=Unit.objects.get(name="卫生健康委员会"),
    )
    rule_create(
        actor=analyst,
        name="学校收费与食堂",
        expression="(学校 OR 中学 OR 教育局) AND (收费 OR 食堂) NOT 招聘",
        unit=Unit.objects.get(name="教育局"),
    )
    now = timezone.now()
    result = posts_ingest(
        items=[
            {
                "platform": platform,
                "source_type": source_type,
                "author": author,
                "text": text,
                "url": f"https://example.com/{platform}/demo-{number}",
                "published_at": (now - timedelta(minutes=minutes)).isoformat(),
                "reads": reads,
                "reposts": reposts,
                "comments": comments,
            }
            for number, (
                minutes,
                platform,
                source_type,
                author,
                text,
                reads,
                reposts,
                comments,
            ) in enumerate(_POSTS, start=1)
        ],
        source="demo",
    )
    topics_refresh()
    return result.accepted
