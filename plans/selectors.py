from django.core.exceptions import ImproperlyConfigured

from .models import LevelPolicy, PlanVersion


def plan_version_in_force() -> PlanVersion:
    """The version new incidents start under."""
    version = (
        PlanVersion.objects.filter(status=PlanVersion.Status.PUBLISHED)
        .select_related("plan")
        .order_by("-published_at")
        .first()
    )
    if version is None:
        raise ImproperlyConfigured("No plan is in force: run `manage.py migrate` to load one.")
    return version


def level_policy(*, version: PlanVersion, level: int) -> LevelPolicy:
    return version.levels.get(level=level)
