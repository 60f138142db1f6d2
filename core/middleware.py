"""Answers for requests that fail for reasons other than their own: the machine (503,
``core.outages``) or a body over the limit (413, ``core.limits``). Views and the pages
they render raise here; errors raised in other middleware reach ``core.views``."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from .limits import too_large_response
from .outages import outage_of, outage_response


class MachineErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        return machine_error_response(request, exc)


def machine_error_response(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    """503 for an outage, 413 for a body over Django's limit; None for anything else."""
    if isinstance(exc, RequestDataTooBig):
        return too_large_response(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    outage = outage_of(exc)
    if outage is None:
        return None
    return outage_response(request, outage, exc)
