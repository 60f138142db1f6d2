"""The incidents API (v1).

Thin views: the role is checked first (with the same table the pages use), an input
serializer checks the request's shape, a service acts and an output serializer answers.
The plan's rules live in ``incidents.permissions`` and ``incidents.services``; their domain
errors become 400/403/409 in one place, ``core.api``.
"""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.api import paginated_answer, query_filters
from core.errors import PermissionDenied
from core.http import client_ip
from core.permissions import require
from organisation.roles import who_may

from . import permissions
from .accountability import finding_record
from .level_changes import level_change_list
from .models import Incident, LevelChange
from .selectors import finding_list, incident_detail, incident_list, incident_list_complete
from .serializers import (
    ArriveSerializer,
    AssessSerializer,
    ChangeLevelSerializer,
    FindingCreateSerializer,
    FindingFilterSerializer,
    FindingSerializer,
    IncidentCreateSerializer,
    IncidentFilterSerializer,
    IncidentListItemSerializer,
    IncidentListRowSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    LevelChangeDecideSerializer,
    LevelChangeFilterSerializer,
    LevelChangeSerializer,
    MetricSnapshotCreateSerializer,
    MetricSnapshotSerializer,
    RejectUpgradeSerializer,
    TransitionSerializer,
    output_context,
)
from .services import (
    incident_add_metrics,
    incident_arrive,
    incident_change_level,
    incident_create,
    incident_reject_upgrade,
    incident_transition,
    incident_update,
    level_change_decide,
)

TAGS = ["incidents"]
ERRORS = {
    400: OpenApiResponse(description="Invalid input: each field named with its messages."),
    403: OpenApiResponse(description="Not logged in, or the role may not do this."),
    404: OpenApiResponse(description="No such incident."),
    409: OpenApiResponse(
        description="Not possible in the incident's current state, or `version` is stale."
    ),
}

TRANSITION_SUMMARIES = {
    "assess": "Assess: confirm or override the suggested level, set the handling category",
    "report": "Report the incident to the leadership group",
    "respond": "Start the response",
    "track": "Start tracking",
    "review": "Start the review",
    "close": "Close the incident",
    "dismiss": "Dismiss the lead (a reason is required)",
}


def _incident(id: int) -> Incident:
    try:
        return Incident.objects.get(pk=id)
    except Incident.DoesNotExist:
        raise Http404 from None


def _incident_answer(request: Request, id: int, *, status_code: int = 200) -> Response:
    """The incident as it is now, timeline included: what every write answers."""
    try:
        incident = incident_detail(pk=id)
    except Incident.DoesNotExist:
        raise Http404 from None
    return Response(
        IncidentSerializer(incident, context=output_context(request)).data, status=status_code
    )


class IncidentListCreateApi(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        tags=TAGS,
        summary="List incidents",
        description=(
            "Newest discovery first, paginated. Each item carries its latest figures, "
            "its deadlines and the requesting user's actions; the timeline is left out "
            "for speed (read one incident to get it)."
        ),
        parameters=[IncidentFilterSerializer],
        responses={200: IncidentListItemSerializer(many=True), 400: ERRORS[400]},
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, IncidentFilterSerializer)
        # The page as plain rows, completed with what the rules read, then written out
        # (IncidentListRowSerializer answers what IncidentListItemSerializer describes).
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(incident_list(filters=filters), request, view=self)
        items = IncidentListRowSerializer(
            incident_list_complete(page), many=True, context=output_context(request)
        )
        return paginator.get_paginated_response(items.data)

    @extend_schema(
        tags=TAGS,
        summary="Log an incident",
        description="It starts `detected`, with the level the plan suggests for its figures.",
        request=IncidentCreateSerializer,
        responses={201: IncidentSerializer, 400: ERRORS[400], 403: ERRORS[403]},
    )
    def post(self, request: Request) -> Response:
        if not permissions.may_log_a_lead(request.user):
            raise PermissionDenied()
        serializer = IncidentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = incident_create(
            actor=request.user, client_ip=client_ip(request), **serializer.validated_data
        )
        return _incident_answer(request, incident.pk, status_code=status.HTTP_201_CREATED)


class IncidentDetailApi(APIView):
    @extend_schema(
        tags=TAGS, summary="Read an incident", responses={200: IncidentSerializer, 404: ERRORS[404]}
    )
    def get(self, request: Request, id: int) -> Response:
        return _incident_answer(request, id)

    @extend_schema(
        tags=TAGS,
        summary="Correct what was logged",
        description="Only the fields sent change; the version moves on by one. Who may: "
        f"{who_may('edit')} Moving `discovered_at` of an assessed incident takes a "
        "`reason` (open deadlines move with it, overdue ones stay overdue) and one of: "
        f"{who_may('move_discovery')}",
        request=IncidentUpdateSerializer,
        responses={200: IncidentSerializer, **ERRORS},
    )
    def patch(self, request: Request, id: int) -> Response:
        require(request.user, "edit")
        incident = _incident(id)
        serializer = IncidentUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        version = changes.pop("version", None)
        reason = changes.pop("reason", "")
        incident_update(
            incident=incident,
            actor=request.user,
            changes=changes,
            expected_version=version,
            client_ip=client_ip(request),
            reason=reason,
        )
        return _incident_answer(request, id)


class IncidentTransitionApi(APIView):
    """One stage of the plan; ``transition`` names it (see ``transition_apis``)."""

    transition = ""
    input_serializer: type[serializers.Serializer] = TransitionSerializer

    def post(self, request: Request, id: int) -> Response:
        require(request.user, self.transition)
        incident = _incident(id)
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(serializer.validated_data)
        incident_transition(
            incident=incident,
            action=self.transition,
            actor=request.user,
            reason=data.pop("reason"),
            expected_version=data.pop("version", None),
            client_ip=client_ip(request),
            **data,  # level and category, to assess
        )
        return _incident_answer(request, id)


def _transition_api(transition: str) -> type[IncidentTransitionApi]:
    input_serializer = AssessSerializer if transition == "assess" else TransitionSerializer
    view = type(
        f"Incident{transition.capitalize()}Api",
        (IncidentTransitionApi,),
        {"transition": transition, "input_serializer": input_serializer},
    )
    return extend_schema_view(
        post=extend_schema(
            tags=TAGS,
            summary=TRANSITION_SUMMARIES[transition],
            description=f"Who may: {who_may(transition)}",
            request=input_serializer,
            responses={200: IncidentSerializer, **ERRORS},
        )
    )(view)


transition_apis = {
    transition: _transition_api(transition) for transition in permissions.TRANSITIONS
}


class IncidentChangeLevelApi(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Change the level of an assessed incident",
        description=(
            "Always with a reason. A raise by one of the plan's `level_raisers` (by default "
            "analyst, office head, deputy leader, leader) applies at once: 200 with the "
            "incident, the deadlines following the new level. A lowering, a change to a "
            "reported Ⅰ/Ⅱ, or a raise by anyone else is a proposal for the plan's "
            "`level_deciders` (leader or deputy leader, not the proposer): 202 with the "
            "pending level change, the incident's level and deadlines unchanged until it is "
            f"decided. Who may ask: {who_may('change_level')}"
        ),
        request=ChangeLevelSerializer,
        responses={200: IncidentSerializer, 202: LevelChangeSerializer, **ERRORS},
    )
    def post(self, request: Request, id: int) -> Response:
        require(request.user, "change_level")
        incident = _incident(id)
        serializer = ChangeLevelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        outcome = incident_change_level(
            incident=incident,
            actor=request.user,
            level=data["level"],
            reason=data["reason"],
            expected_version=data.get("version"),
            client_ip=client_ip(request),
        )
        if isinstance(outcome, LevelChange):
            return Response(LevelChangeSerializer(outcome).data, status=status.HTTP_202_ACCEPTED)
        return _incident_answer(request, id)


class IncidentRejectUpgradeApi(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Keep the level: reject the upgrade the figures propose",
        description="Meets the proposal's decision deadline and stops its escalation.",
        request=RejectUpgradeSerializer,
        responses={200: IncidentSerializer, **ERRORS},
    )
    def post(self, request: Request, id: int) -> Response:
        require(request.user, "reject_upgrade")
        incident = _incident(id)
        serializer = RejectUpgradeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident_reject_upgrade(
            incident=incident,
            actor=request.user,
            reason=serializer.validated_data["reason"],
            client_ip=client_ip(request),
        )
        return _incident_answer(request, id)


class IncidentArriveApi(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Acknowledge my arrival after a Ⅰ/Ⅱ alarm",
        description="Meets the requesting person's open arrival clocks on the incident, "
        "now or at `arrived_at`; 409 when they have none.",
        request=ArriveSerializer,
        responses={200: IncidentSerializer, **ERRORS},
    )
    def post(self, request: Request, id: int) -> Response:
        incident = _incident(id)
        serializer = ArriveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident_arrive(
            incident=incident,
            actor=request.user,
            arrived_at=serializer.validated_data.get("arrived_at"),
            client_ip=client_ip(request),
        )
        return _incident_answer(request, id)


class IncidentMetricsApi(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Add the figures seen now",
        description="The suggested level is re-evaluated from the new snapshot.",
        request=MetricSnapshotCreateSerializer,
        responses={201: MetricSnapshotSerializer, **ERRORS},
    )
    def post(self, request: Request, id: int) -> Response:
        require(request.user, "add_metrics")
        incident = _incident(id)
        serializer = MetricSnapshotCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        metrics = dict(serializer.validated_data)
        taken_at = metrics.pop("taken_at", None)
        snapshot = incident_add_metrics(
            incident=incident,
            actor=request.user,
            metrics=metrics,
            taken_at=taken_at,
            client_ip=client_ip(request),
        )
        return Response(MetricSnapshotSerializer(snapshot).data, status=status.HTTP_201_CREATED)


# Level changes awaiting the leadership's decision ---------------------------------------------

LEVEL_CHANGE_ERRORS = {
    **ERRORS,
    404: OpenApiResponse(description="No such level change."),
    409: OpenApiResponse(
        description="No longer awaiting a decision, or the incident moved on since."
    ),
}


def _level_change(id: int) -> LevelChange:
    try:
        return LevelChange.objects.select_related("incident").get(pk=id)
    except LevelChange.DoesNotExist:
        raise Http404 from None


class LevelChangeListApi(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        tags=TAGS,
        summary="List level changes proposed for decision",
        description="Newest first, paginated; filter by incident and status.",
        parameters=[LevelChangeFilterSerializer],
        responses={200: LevelChangeSerializer(many=True), 400: ERRORS[400]},
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, LevelChangeFilterSerializer)
        return paginated_answer(
            self, request, level_change_list(filters=filters), LevelChangeSerializer
        )


class LevelChangeDecideApi(APIView):
    """Approve or reject a pending level change (``approve`` says which)."""

    approve = True

    def post(self, request: Request, id: int) -> Response:
        change = _level_change(id)
        serializer = LevelChangeDecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        change = level_change_decide(
            change=change,
            actor=request.user,
            approve=self.approve,
            reason=serializer.validated_data.get("reason", ""),
            client_ip=client_ip(request),
        )
        return Response(LevelChangeSerializer(change).data)


@extend_schema_view(
    post=extend_schema(
        tags=TAGS,
        summary="Approve a proposed level change",
        description="The level changes as proposed and the deadlines follow it; the "
        "decision deadline is met and the proposer told. Who may: a person holding one of "
        "the plan's `level_deciders` roles (leader or deputy leader by default) who did not "
        "propose it.",
        request=LevelChangeDecideSerializer,
        responses={200: LevelChangeSerializer, **LEVEL_CHANGE_ERRORS},
    )
)
class LevelChangeApproveApi(LevelChangeDecideApi):
    approve = True


@extend_schema_view(
    post=extend_schema(
        tags=TAGS,
        summary="Reject a proposed level change (a reason is required)",
        description="The level stays; the decision deadline is met and the proposer told. "
        "Who may: as for approving.",
        request=LevelChangeDecideSerializer,
        responses={200: LevelChangeSerializer, **LEVEL_CHANGE_ERRORS},
    )
)
class LevelChangeRejectApi(LevelChangeDecideApi):
    approve = False


# Accountability (责任追究) -------------------------------------------------------------------


class FindingListCreateApi(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        tags=["accountability"],
        summary="List findings of accountability",
        description="Oldest first, paginated. The engine's late reports (迟报 of deadlines) "
        "are in the review's accountability section beside these.",
        parameters=[FindingFilterSerializer],
        responses={200: FindingSerializer(many=True), 400: ERRORS[400]},
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, FindingFilterSerializer)
        return paginated_answer(self, request, finding_list(filters=filters), FindingSerializer)

    @extend_schema(
        tags=["accountability"],
        summary="Record a finding (漏报, 谎报, 瞒报, 迟报 or 表彰)",
        description=f"On the incident's timeline. Who may: {who_may('record_finding')}",
        request=FindingCreateSerializer,
        responses={201: FindingSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        require(request.user, "record_finding")
        serializer = FindingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        finding = finding_record(
            actor=request.user, client_ip=client_ip(request), **serializer.validated_data
        )
        return Response(FindingSerializer(finding).data, status=status.HTTP_201_CREATED)
