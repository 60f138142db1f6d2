from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import engine_health


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For monitors: 200 while the engine sweeps, 503 when it has gone silent."""
    health = engine_health()
    body = {
        "status": "stalled" if health.stalled else "ok",
        "last_sweep_at": health.sweep_at.isoformat() if health.sweep_at else None,
        "last_sweep_age_seconds": health.sweep_age,
        "last_delivery_at": health.delivery_at.isoformat() if health.delivery_at else None,
        "last_delivery_age_seconds": health.delivery_age,
    }
    return JsonResponse(body, status=503 if health.stalled else 200)
