"""Celery tasks: thin wrappers around the monitoring services."""

from celery import shared_task

from .intake.feeds import feeds_poll_due
from .intake.imports import import_run, imports_run_pending
from .text.sensitive import sensitive_backfill
from .topics.completion import posts_complete_pending
from .topics.matches import rules_backfill
from .topics.refresh import topics_refresh


@shared_task(name="monitoring.poll_feeds", ignore_result=True)
def poll_feeds_task() -> None:
    feeds_poll_due()


@shared_task(name="monitoring.run_import", ignore_result=True)
def run_import_task(job_id: int) -> None:
    import_run(job_id)


@shared_task(name="monitoring.run_pending_imports", ignore_result=True)
def run_pending_imports_task() -> None:
    imports_run_pending()


@shared_task(name="monitoring.complete_pending_posts", ignore_result=True)
def complete_pending_posts_task() -> None:
    posts_complete_pending()


@shared_task(name="monitoring.refresh_topics", ignore_result=True)
def refresh_topics_task() -> None:
    """New and changed rules and term lists over the stored posts, then the figures of
    changed topics."""
    rules_backfill()
    sensitive_backfill()
    topics_refresh()
