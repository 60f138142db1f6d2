"""Celery tasks: thin wrappers around the engine's services."""

from celery import shared_task

from .sweep import sweep


@shared_task(name="engine.sweep", ignore_result=True)
def sweep_task() -> None:
    sweep()
