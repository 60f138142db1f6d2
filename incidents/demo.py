"""Two demo incidents, so the board has something to show on first start."""

from datetime import timedelta

from django.utils import timezone

from organisation.models import Unit, User

from .models import Incident
from .services import incident_create, incident_transition


def demo_incidents_load(*, people: dict[str, User]) -> int:
    if Incident.objects.exists():
        return 0
    health = Unit.objects.get(name="卫生健康委员会")
    now = timezone.now()
    incident_create(
        actor=people["duty"],
        title="网友反映某医院收费不透明",
        platform="weibo",
        event_type="user_complaint",
        unit=health,
        description="微博网友发帖称在某医院就诊时被重复收费，评论区有网友附和。",
        links=["https://weibo.com/example/1"],
        discovered_at=now - timedelta(minutes=12),
        metrics={"reads": 60, "comments": 8, "negative_share": "0.2"},
    )
    second = incident_create(
        actor=people["duty"],
        title="某学校食堂食品安全问题视频传播",
        platform="douyin",
        event_type="public_health",
        unit=Unit.objects.get(name="教育局"),
        description="短视频显示学校食堂后厨卫生状况差，已有地方电视台跟进报道。",
        links=["https://www.douyin.com/video/example"],
        discovered_at=now - timedelta(minutes=25),
        metrics={
            "reads": 4200,
            "reposts": 310,
            "comments": 520,
            "negative_share": "0.62",
            "mainstream_media": True,
        },
    )
    incident_transition(
        incident=second,
        action="assess",
        actor=people["analyst"],
        level=2,
        category="hype",
        reason="",
    )
    return 2
