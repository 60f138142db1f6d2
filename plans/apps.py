from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = _("Emergency plans")

    def ready(self) -> None:
        from .services import ensure_default_plan_after_migrate

        # "A default plan is loaded on first start": migrate is the first thing every
        # start runs (and flush re-emits it, so test databases have the plan too).
        post_migrate.connect(ensure_default_plan_after_migrate, sender=self)
