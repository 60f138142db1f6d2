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
    # Level changes for the leadership to decide (incidents/level_changes.py).
    "propose_level_change": _("level change proposed for decision"),
    "reject_level_change": _("proposed level change rejected"),
    "withdraw_level_change": _("proposed level change withdrawn"),
    "arrive": _("I am at my post"),
    # Timeline entries of the response (response/documents.py, assignments, tracking).
    "task_assigned": _("task assigned"),
    "task_done": _("task completed"),
    "follow_up_filed": _("follow-up report filed"),
    "tracker_named": _("tracker named"),
    "finding_recorded": _("accountability finding recorded"),
    "statement_published": _("statement published"),
    "response_plan_drafted": _("response plan drafted"),
    "response_plan_edited": _("response plan edited"),
    "response_plan_submitted": _("response plan submitted for approval"),
    "response_plan_approve": _("response plan approved"),
    "response_plan_reject": _("response plan rejected"),
    "response_plan_request_changes": _("changes to the response plan requested"),
    "statement_drafted": _("statement drafted"),
    "statement_edited": _("statement edited"),
    "statement_submitted": _("statement submitted for approval"),
    "statement_approve": _("statement approved"),
    "statement_reject": _("statement rejected"),
    "statement_request_changes": _("changes to the statement requested"),
    "review_drafted": _("review drafted"),
    "review_edited": _("review edited"),
    "review_submitted": _("review submitted for approval"),
    "review_approve": _("review approved"),
    "review_reject": _("review rejected"),
    "review_request_changes": _("changes to the review requested"),
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
