"""The Celery app: ``celery -A config worker --beat`` runs a worker with its beat."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("fenghuo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _process_warm(**_kwargs) -> None:
    """Each worker process loads what the monitoring intake needs before its first task."""
    from monitoring.warmup import process_warm

    process_warm()
