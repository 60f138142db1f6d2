from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self) -> None:
        # Declares monitoring's actions; registers its tasks in every process, so that
        # one sent by name (an import's run) finds its task, eager in tests.
        from notifications import work

        from . import permissions, tasks  # noqa: F401
        from .intake.batches import posts_stored
        from .selectors import work_items
        from .text.sensitive import term_lists_load_defaults_after_migrate
        from .topics.completion import posts_stored_complete

        # The starter sensitive-term lists on first start, as plans loads its default plan
        # (flush re-emits post_migrate, so test databases have them too).
        post_migrate.connect(term_lists_load_defaults_after_migrate, sender=self)
        # The posts a batch stored are completed at once (grouped, matched, in topics):
        # the intake announces them, the topics above it complete them.
        posts_stored.connect(posts_stored_complete, dispatch_uid="monitoring.posts_complete")
        # The work list: proposals to decide, for those whose role decides them.
        work.register(work_items)
