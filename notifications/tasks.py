"""Celery tasks: thin wrappers around the notification services."""

from celery import shared_task

from .delivery import deliver_pending


@shared_task(name="notifications.deliver", ignore_result=True)
def deliver_task() -> None:
    deliver_pending()
