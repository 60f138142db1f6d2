"""Times people state for what they did (a publication, a follow-up report, a task's
outcome). Such a time meets a deadline, so it is bounded by what happened: no earlier
than the thing it follows, no later than now. A time sent or typed in the same minute
as the thing it follows (forms give minutes only) is taken as that moment."""

from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.errors import InvalidInput


def happened_at(value: datetime | None, *, field: str, after: datetime, after_what: str,
                now: datetime) -> datetime:
    """``value`` (default ``now``) if it lies between ``after`` and ``now``; else
    ``InvalidInput`` on ``field`` saying which bound it crosses."""
    if value is None:
        return now
    if value > now:
        raise InvalidInput(field_errors={field: [_("Cannot be in the future.")]})
    if value < after.replace(second=0, microsecond=0):
        raise InvalidInput(field_errors={field: [
            _("Cannot be earlier than %(what)s (%(at)s).")
            % {"what": after_what,
               "at": date_format(timezone.localtime(after), "Y-m-d H:i")}]})
    return max(value, after)
