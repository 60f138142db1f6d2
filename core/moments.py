"""The window of believable moments: one floor and one ceiling for the times that people,
crawlers, feeds and imports send (a post's publication, an incident's discovery).

A moment outside it is a typing or clock mistake (0001-01-01, 1900, a year ahead); taken
as true it would make every deadline overdue at once or sit on top of every list. The
bounds are settings (``FENGHUO_EARLIEST_DATE``, ``FENGHUO_FUTURE_TOLERANCE_HOURS``); every
caller refuses the one item and keeps the rest of its batch.
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .errors import InvalidInput


def earliest_moment() -> datetime:
    """The first moment accepted: midnight of ``FENGHUO_EARLIEST_DATE`` in the default
    time zone."""
    day = date.fromisoformat(settings.FENGHUO_EARLIEST_DATE)
    return timezone.make_aware(datetime.combine(day, time.min))


def latest_moment(now: datetime | None = None) -> datetime:
    """The last moment accepted: ``now`` plus ``FENGHUO_FUTURE_TOLERANCE_HOURS``."""
    now = now or timezone.now()
    return now + timedelta(hours=settings.FENGHUO_FUTURE_TOLERANCE_HOURS)


def moment_problem(value: datetime, *, now: datetime | None = None) -> str | None:
    """Why ``value`` (an aware date-time) is not believable, as a message for the user;
    None when it lies inside the window."""
    if value < earliest_moment():
        return _("Earlier than %(date)s: check the year.") % {
            "date": date_format(earliest_moment().date(), "Y-m-d")
        }
    if value > latest_moment(now):
        return _("Later than %(hours)g hours from now: check the date and the time zone.") % {
            "hours": settings.FENGHUO_FUTURE_TOLERANCE_HOURS
        }
    return None


def happened_at(
    value: datetime | None, *, field: str, after: datetime, after_what: str, now: datetime
) -> datetime:
    """A time people state for what they did (a publication, a follow-up report, a task's
    outcome, an arrival after an alarm): ``value`` (default ``now``) if it lies between
    ``after`` and ``now``; else ``InvalidInput`` on ``field`` saying which bound it
    crosses. Such a time meets a deadline, so it is bounded by what happened. A time in
    the same minute as ``after`` (forms give minutes only) is taken as ``after``."""
    if value is None:
        return now
    if value > now:
        raise InvalidInput(field_errors={field: [_("Cannot be in the future.")]})
    if value < after.replace(second=0, microsecond=0):
        raise InvalidInput(
            field_errors={
                field: [
                    _("Cannot be earlier than %(what)s (%(at)s).")
                    % {
                        "what": after_what,
                        "at": date_format(timezone.localtime(after), "Y-m-d H:i"),
                    }
                ]
            }
        )
    return max(value, after)
