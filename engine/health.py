"""The engine watches itself: how long since the last completed sweep and delivery."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from core.models import Heartbeat


@dataclass(frozen=True)
class EngineHealth:
    sweep_at: datetime | None
    delivery_at: datetime | None
    now: datetime

    @staticmethod
    def _age(at: datetime | None, now: datetime) -> float | None:
        return None if at is None else max(0.0, (now - at).total_seconds())

    @property
    def sweep_age(self) -> float | None:
        return self._age(self.sweep_at, self.now)

    @property
    def delivery_age(self) -> float | None:
        return self._age(self.delivery_at, self.now)

    @property
    def stalled(self) -> bool:
        """No sweep yet, or none for longer than FENGHUO_ENGINE_STALE_AFTER seconds."""
        age = self.sweep_age
        return age is None or age > settings.FENGHUO_ENGINE_STALE_AFTER


def engine_health(*, now: datetime | None = None) -> EngineHealth:
    beats = dict(Heartbeat.objects.filter(name__in=["sweep", "delivery"]).values_list("name", "at"))
    return EngineHealth(
        sweep_at=beats.get("sweep"), delivery_at=beats.get("delivery"), now=now or timezone.now()
    )
