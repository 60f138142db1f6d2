"""The one place where domain errors become API answers; errors of the machine (503)
and bodies over the limit (413) are answered here too, in the same JSON shape."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, InvalidInput, PermissionDenied, StaleVersion, TransitionNotAllowed
from .limits import too_large_message
from .outages import outage_body, outage_log, outage_of

STATUS_FOR = {
    InvalidInput: status.HTTP_400_BAD_REQUEST,
    PermissionDenied: status.HTTP_403_FORBIDDEN,
    TransitionNotAllowed: status.HTTP_409_CONFLICT,
    StaleVersion: status.HTTP_409_CONFLICT,
}
CODE_FOR = {
    InvalidInput: "invalid",
    PermissionDenied: "permission_denied",
    TransitionNotAllowed: "transition_not_allowed",
    StaleVersion: "stale_version",
}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        kind = next(k for k in STATUS_FOR if isinstance(exc, k))
        body: dict = {"detail": str(exc.message), "code": CODE_FOR[kind]}
        for field, messages in exc.field_errors.items():
            body[field] = [str(m) for m in messages]
        return Response(body, status=STATUS_FOR[kind])
    if isinstance(exc, RequestDataTooBig):  # a form body, read by Django with its limit
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"detail": too_large_message(limit), "code": "request_too_large", "max_bytes": limit},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    outage = outage_of(exc)
    if outage is not None:
        outage_log(context["request"], outage, exc)
        return Response(
            outage_body(outage),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(settings.FENGHUO_RETRY_AFTER)},
        )
    response = drf_exception_handler(exc, context)
    extra = getattr(exc, "extra", None)
    if response is not None and callable(extra):  # core.limits: the bound it passed
        response.data = {"detail": response.data["detail"], "code": exc.get_codes(), **extra()}
    return response


def query_filters(request, serializer_class) -> dict:
    """The list filters of a request's query string, validated (400 when wrong). An empty
    parameter, as HTML forms send, means "no filter"."""
    params = {key: value for key, value in request.query_params.items() if value != ""}
    filters = serializer_class(data=params)
    filters.is_valid(raise_exception=True)
    return dict(filters.validated_data)


def paginated_answer(view, request, queryset, serializer_class, **serializer_kwargs) -> Response:
    """One page of ``queryset`` in the project's page shape (count, next, previous,
    results), serialised with ``serializer_class``."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, **serializer_kwargs).data
    return paginator.get_paginated_response(data)
