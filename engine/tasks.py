"""Celery tasks: thin wrappers around the engine's services."""

from celery import shared_task

from .sweep import sweep
from .wakeup import SWEEP_TASK


@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep_task() -> None:
    """Beat's periodic sweep and the wake-ups (``engine.wakeup``) alike."""
    sweep()
