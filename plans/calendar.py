"""The plan's working-hours calendar."""

from datetime import datetime

from django.utils import timezone

from .models import PlanVersion


def in_working_hours(*, version: PlanVersion, at: datetime) -> bool:
    """Whether ``at`` (in the deployment's time zone) falls in the plan's working hours.
    Public holidays are not modelled: a holiday on a working day counts as working."""
    local = timezone.localtime(at)
    return (
        str(local.isoweekday()) in version.work_days
        and version.work_start <= local.time() < version.work_end
    )
