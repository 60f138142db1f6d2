"""Vocabularies of an incident (domain.md)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    DETECTED = "detected", _("detected")
    ASSESSED = "assessed", _("assessed")
    REPORTED = "reported", _("reported")
    RESPONDING = "responding", _("responding")
    TRACKING = "tracking", _("tracking")
    REVIEWING = "reviewing", _("reviewing")
    CLOSED = "closed", _("closed")
    DISMISSED = "dismissed", _("dismissed")


OPEN_STATES = frozenset(
    {
        State.DETECTED,
        State.ASSESSED,
        State.REPORTED,
        State.RESPONDING,
        State.TRACKING,
        State.REVIEWING,
    }
)


# Level changes after the first assessment are possible while the incident is handled.
REGRADABLE_STATES = frozenset({State.ASSESSED, State.REPORTED, State.RESPONDING, State.TRACKING})


class EventType(models.TextChoices):
    NATURAL_DISASTER = "natural_disaster", _("Natural disaster")
    ACCIDENT = "accident", _("Accident")
    PUBLIC_HEALTH = "public_health", _("Public health")
    SOCIAL_SECURITY = "social_security", _("Social security")
    POLITICAL = "political", _("Political")
    ECONOMIC = "economic", _("Economic")
    SOCIAL = "social", _("Social")
    CULTURAL = "cultural", _("Cultural")
    NETWORK_SECURITY = "network_security", _("Network or data security")
    PLATFORM_FAILURE = "platform_failure", _("Platform failure")
    CONTENT_VIOLATION = "content_violation", _("Content violation")
    USER_COMPLAINT = "user_complaint", _("User complaint")
    OTHER = "other", _("Other")


class Platform(models.TextChoices):
    WEIBO = "weibo", _("Weibo")
    WECHAT = "wechat", _("WeChat")
    DOUYIN = "douyin", _("Douyin")
    KUAISHOU = "kuaishou", _("Kuaishou")
    TOUTIAO = "toutiao", _("Toutiao")
    ZHIHU = "zhihu", _("Zhihu")
    TIEBA = "tieba", _("Baidu Tieba")
    BILIBILI = "bilibili", _("Bilibili")
    XIAOHONGSHU = "xiaohongshu", _("Xiaohongshu")
    NEWS_SITE = "news_site", _("News website")
    FORUM = "forum", _("Forum")
    TV_PRESS = "tv_press", _("TV or newspaper")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    """Where a lead came from."""

    OFFICE = "office", _("logged by the office")
    MEMBER_UNIT = "member_unit", _("reported by a member unit (成员单位报送)")
    MONITORING = "monitoring", _("accepted from monitoring")
