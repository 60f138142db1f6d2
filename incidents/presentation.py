"""Words and colours for showing incidents; no rules live here."""

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "assess": _("assess"),
    "report": _("report to the leadership group"),
    "respond": _("start the response"),
    "track": _("start tracking"),
    "review": _("start the review"),
    "close": _("close"),
    "dismiss": _("dismiss"),
    "change_level": _("change the level"),
    "reject_upgrade": _("keep the level (reject the proposed upgrade)"),
    "arrive": _("I am at my post"),
    # Timeline entries of the engine and of alerts.
    "upgrade_proposed": _("level upgrade proposed by the figures"),
    "acknowledge": _("alert acknowledged"),
    "arrived": _("arrived at post"),
}

DEADLINE_STATUS_LABELS = {
    "open": _("open"),
    "overdue": _("overdue"),
    "met": _("met"),
    "met_late": _("met late"),
    "cancelled": _("no longer required"),
}
