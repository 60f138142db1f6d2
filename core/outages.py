"""Errors of the machine, not of the request: a database that is locked or cannot be
reached, a broker that is down, a full disk. They answer 503 with ``Retry-After`` (JSON
under /api/, a page that needs no database elsewhere), never 500, and are logged with
their cause. Nothing is half-done: every service is one transaction, rolled back by the
error before it gets here.

Enqueuing after a commit is not one of them: the enqueues (``notifications.services``,
``monitoring.imports``) log a broker that is down and leave the work to beat, because the
write they follow has been committed and a 503 would invite sending it again.
"""

import errno
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from .limits import is_api_request

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outage:
    code: str
    message: Any
    log_level: int


DATABASE_BUSY = Outage(
    "database_busy",
    _("The database is busy with other work. Try again in a moment."),
    logging.WARNING,
)
DATABASE_UNAVAILABLE = Outage(
    "database_unavailable", _("The database cannot be reached right now."), logging.ERROR
)
DISK_FULL = Outage("disk_full", _("The server's disk is full."), logging.ERROR)
BROKER_UNAVAILABLE = Outage(
    "broker_unavailable", _("The task queue cannot be reached right now."), logging.ERROR
)

# SQLite primary result codes; any other (SQLITE_ERROR: a syntax error, a missing table)
# is a fault of the code and stays a 500.
_SQLITE = {
    5: DATABASE_BUSY,
    6: DATABASE_BUSY,  # SQLITE_BUSY, SQLITE_LOCKED
    13: DISK_FULL,  # SQLITE_FULL
    7: DATABASE_UNAVAILABLE,
    8: DATABASE_UNAVAILABLE,  # NOMEM, READONLY
    10: DATABASE_UNAVAILABLE,
    14: DATABASE_UNAVAILABLE,  # IOERR, CANTOPEN
    15: DATABASE_UNAVAILABLE,
}  # PROTOCOL
# PostgreSQL SQLSTATEs of an OperationalError that mean "again in a moment"; any other is
# the server gone, refusing or short of resources.
_POSTGRES_BUSY = {"40001", "40P01", "55P03", "57014"}  # serialization, deadlock, lock, timeout
_POSTGRES_DISK_FULL = "53100"
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def outage_of(exc: BaseException) -> Outage | None:
    """The outage ``exc`` (or an exception it was raised from) reports, or None when it
    is not an error of the machine."""
    from kombu.exceptions import OperationalError as BrokerError

    seen = 0
    error: BaseException | None = exc
    while error is not None and seen < 5:
        if isinstance(error, OperationalError | InterfaceError):
            return _database_outage(error)
        if isinstance(error, BrokerError):
            return BROKER_UNAVAILABLE
        if isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS:
            return DISK_FULL
        error, seen = error.__cause__, seen + 1
    return None


def _database_outage(error: BaseException) -> Outage | None:
    driver_error = error.__cause__
    if isinstance(driver_error, sqlite3.Error):
        code = getattr(driver_error, "sqlite_errorcode", None)
        return _SQLITE.get(code & 0xFF) if code is not None else None
    sqlstate = getattr(driver_error, "pgcode", None) or getattr(driver_error, "sqlstate", None)
    if sqlstate in _POSTGRES_BUSY:
        return DATABASE_BUSY
    if sqlstate == _POSTGRES_DISK_FULL:
        return DISK_FULL
    return DATABASE_UNAVAILABLE


def outage_response(request: HttpRequest, outage: Outage, exc: BaseException) -> HttpResponse:
    """503 for ``outage``: JSON for the API, a standalone page (the base layout reads the
    database for the bell and the roster) for the browser. Logs it with its cause."""
    outage_log(request, outage, exc)
    retry_after = settings.FENGHUO_RETRY_AFTER
    response: HttpResponse
    if is_api_request(request):
        response = JsonResponse(
            outage_body(outage), status=503, json_dumps_params={"ensure_ascii": False}
        )
    else:
        response = HttpResponse(
            render_to_string("503.html", {"message": outage.message, "retry_after": retry_after}),
            status=503,
        )
    response["Retry-After"] = str(retry_after)
    return response


def outage_body(outage: Outage) -> dict[str, Any]:
    return {
        "detail": str(outage.message),
        "code": outage.code,
        "retry_after": settings.FENGHUO_RETRY_AFTER,
    }


def outage_log(request: HttpRequest, outage: Outage, exc: BaseException) -> None:
    logger.log(
        outage.log_level,
        "503 (%s) for %s %s: %s: %s",
        outage.code,
        request.method,
        request.path,
        type(exc).__name__,
        exc,
        exc_info=exc if outage.log_level >= logging.ERROR else None,
    )
