from django.http import HttpRequest

from .health import engine_health


def engine_status(request: HttpRequest) -> dict:
    """The board and every page warn when the deadline engine has gone silent."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"engine_health": engine_health()}
