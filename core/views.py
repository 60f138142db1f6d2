"""Error handlers (``handler400``, ``handler500`` in ``config.urls``) for what fails
outside a view, in middleware: a form body over the limit read by the CSRF check, a
session saved to a locked database. Inside views ``core.middleware`` answers the same."""

import sys

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from .middleware import machine_error_response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return machine_error_response(request, exception) or defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    answer = machine_error_response(request, exc) if exc is not None else None
    return answer or defaults.server_error(request)
