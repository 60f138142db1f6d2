"""The notifications API (v1): a person's alerts, and acknowledging one.

Thin views, as in ``incidents.api``: an input serializer checks the request, a selector
reads or a service acts, an output serializer answers. ``core.api`` turns the services'
domain errors into 400/403.
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.api import paginated_answer, query_filters
from core.http import client_ip

from .models import Notification
from .selectors import notification_list
from .serializers import (
    NotificationFilterSerializer,
    NotificationSerializer,
    WorkFilterSerializer,
    WorkListSerializer,
)
from .services import notification_acknowledge
from .work import work_list

TAGS = ["notifications"]
ERRORS = {
    400: OpenApiResponse(description="Invalid input: each field named with its messages."),
    403: OpenApiResponse(description="Not logged in, or someone else's notification."),
    404: OpenApiResponse(description="No such notification."),
}


class NotificationListApi(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        tags=TAGS,
        summary="List notifications",
        description=(
            "Newest first, paginated, every channel (in the app, email, webhook: filter by "
            "`channel`). A person sees their own notifications; the office head and the "
            "system administrator see everyone's (filter by `recipient`)."
        ),
        parameters=[NotificationFilterSerializer],
        responses={200: NotificationSerializer(many=True), 400: ERRORS[400]},
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, NotificationFilterSerializer)
        return paginated_answer(
            self,
            request,
            notification_list(user=request.user, filters=filters),
            NotificationSerializer,
        )


class NotificationAcknowledgeApi(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Acknowledge a notification",
        description=(
            "The recipient confirms they have the alert. For an overdue or escalation alert "
            "this stops the deadline's escalation chain. Acknowledging twice changes nothing."
        ),
        request=None,
        responses={200: NotificationSerializer, 403: ERRORS[403], 404: ERRORS[404]},
    )
    def post(self, request: Request, id: int) -> Response:
        try:
            notification = Notification.objects.select_related("recipient").get(pk=id)
        except Notification.DoesNotExist:
            raise Http404 from None
        notification = notification_acknowledge(
            notification=notification, actor=request.user, client_ip=client_ip(request)
        )
        return Response(NotificationSerializer(notification).data)


class MeWorkApi(APIView):
    @extend_schema(
        tags=TAGS,
        summary="My work list (待我处理)",
        description=(
            "What waits on the caller now, nearest due first (items with no due time "
            "last): versions they may approve, open tasks of their unit (liaison, unit "
            "head) or assigned to them, open deadlines they answer for, arrivals to "
            "confirm, monitoring proposals to decide (if their role decides them), "
            "follow-up reports due. Each item links to the page where it is done. Not "
            "paginated: the whole list, in a fixed number of queries."
        ),
        parameters=[WorkFilterSerializer],
        responses={
            200: WorkListSerializer,
            400: ERRORS[400],
            403: OpenApiResponse(description="Not logged in."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, WorkFilterSerializer)
        items = work_list(user=request.user)
        if filters.get("kind"):
            items = [item for item in items if item.kind == filters["kind"]]
        return Response(WorkListSerializer({"count": len(items), "results": items}).data)
