"""The one place where domain errors become API answers."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, InvalidInput, PermissionDenied, StaleVersion, TransitionNotAllowed

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
    return drf_exception_handler(exc, context)


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
