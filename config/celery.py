"""The Celery app: ``celery -A config worker --beat`` runs a worker with its beat."""

import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("fenghuo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _process_warm(**_kwargs) -> None:
    """Each worker process loads what the monitoring intake needs before its first task."""
    from monitoring.text.warmup import process_warm

    process_warm()


@worker_init.connect
def _sqlite_worker_patience(**_kwargs) -> None:
    """Workers wait longer than web requests for SQLite's write lock: no person waits on
    a task, and one that fails only runs again at beat's next round. Before the pool
    starts, so every worker process connects with it."""
    from django.conf import settings
    from django.db import connections

    for connection in connections.all(initialized_only=False):
        if connection.vendor == "sqlite":
            connection.close()
            connection.settings_dict["OPTIONS"]["timeout"] = (
                settings.FENGHUO_SQLITE_WORKER_BUSY_TIMEOUT
            )
