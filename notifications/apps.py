from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from incidents import effects, page_parts

        from .announcements import (
            lead_logged,
            level_change_decided,
            level_change_proposed,
            upgrade_proposed,
        )
        from .selectors import incident_notifications
        from .work import deadline_items
        from .work import register as work_register

        effects.register("upgrade_proposed", upgrade_proposed)
        effects.register("lead_logged", lead_logged)
        effects.register("level_change_proposed", level_change_proposed)
        effects.register("level_change_decided", level_change_decided)
        work_register(deadline_items)

        @page_parts.register
        def delivery_log(incident):
            """The incident page's log of the notifications sent about it."""
            return {"notifications": list(incident_notifications(incident_id=incident.pk)[:200])}
