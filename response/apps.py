from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResponseConfig(AppConfig):
    name = "response"
    verbose_name = _("Response")

    def ready(self) -> None:
        from incidents import effects, guards
        from notifications import work

        from . import permissions  # noqa: F401  (declares the response's actions)
        from .assignments import create_checklist_tasks
        from .documents import approvals_reroute, no_approved_response_plan, no_approved_review
        from .reviews import start_review
        from .selectors import work_items
        from .tracking import start_follow_up_clock, stop_follow_up_clock

        # The plans: no response without an approved response plan.
        guards.register("respond", no_approved_response_plan, prefetch="response_plans")
        guards.register("close", no_approved_review, prefetch="reviews")
        effects.register("assess", create_checklist_tasks)
        for action in ("report", "respond", "track"):
            effects.register(action, start_follow_up_clock)
        effects.register("review", stop_follow_up_clock)
        effects.register("review", start_review)
        # A level change sends pending submissions to the new level's approvers.
        effects.register("level_changed", approvals_reroute)
        # The work list: versions to decide, tasks of one's unit or one's own.
        work.register(work_items)
