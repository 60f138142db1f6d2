"""The response API (v1): response plans, statements and reviews with their approvals,
tasks for member units, follow-up reports, and the review exported.

Thin views, as in ``incidents.api``: a role the table names is checked first, an input
serializer checks the request's shape, a service acts and an output serializer answers.
Who approves, what needs a comment, which state allows what: ``response.documents``,
``response.assignments`` and ``response.tracking``. Their domain errors become
400/403/409 in one place, ``core.api``.
"""

import json
import logging
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.api import paginated_answer, query_filters
from core.errors import PermissionDenied
from core.http import client_ip
from core.permissions import require
from incidents.models import Incident
from incidents.serializers import output_context
from organisation.roles import who_may

from . import permissions
from .assignments import task_assign, task_record
from .documents import (
    KINDS,
    document_decide,
    document_save_draft,
    document_submit,
    statement_publish,
)
from .evidence import evidence_kind
from .models import FollowUp, ResponsePlan, Review, Statement, Task, TaskUpdate
from .selectors import (
    document_detail,
    document_list,
    follow_up_detail,
    follow_up_list,
    open_draft_id,
    task_detail,
    task_list,
)
from .serializers import (
    DecisionInputSerializer,
    DocumentFilterSerializer,
    FollowUpCreateSerializer,
    FollowUpFilterSerializer,
    FollowUpSerializer,
    PublishSerializer,
    ResponsePlanDraftSerializer,
    ResponsePlanSerializer,
    ReviewDraftSerializer,
    ReviewSerializer,
    StatementDraftSerializer,
    StatementSerializer,
    SubmitSerializer,
    TaskAssignSerializer,
    TaskCompleteSerializer,
    TaskFilterSerializer,
    TaskListItemSerializer,
    TaskRecordSerializer,
    TaskSerializer,
    TrackerSerializer,
)
from .tracking import follow_up_file, incident_name_tracker

ERRORS = {
    400: OpenApiResponse(description="Invalid input: each field named with its messages."),
    403: OpenApiResponse(
        description="Not logged in, or the role may not do this (nobody "
        "who wrote or edited a version decides on it)."
    ),
    404: OpenApiResponse(description="No such record."),
    409: OpenApiResponse(
        description="Not possible in the current state, or the version "
        "was superseded or already decided, or nobody may "
        "approve it (the answer names the approver role)."
    ),
}

logger = logging.getLogger(__name__)


# Documents: response plans, statements, reviews ----------------------------------------------


class DocumentApi(APIView):
    """The pieces every document endpoint shares; ``model`` and the serializers are set
    by ``document_apis``."""

    model: type = ResponsePlan
    output_serializer: type[serializers.Serializer] = ResponsePlanSerializer
    draft_serializer: type[serializers.Serializer] = ResponsePlanDraftSerializer

    def document(self, id: int) -> Any:
        try:
            return document_detail(model=self.model, pk=id)
        except self.model.DoesNotExist:
            raise Http404 from None

    def answer(self, request: Request, id: int, *, status_code: int = 200) -> Response:
        """The version as it is now, decisions included: what every write answers."""
        return Response(
            self.output_serializer(self.document(id), context=output_context(request)).data,
            status=status_code,
        )


class DocumentListCreateApi(DocumentApi):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    def get(self, request: Request) -> Response:
        filters = query_filters(request, DocumentFilterSerializer)
        return paginated_answer(
            self,
            request,
            document_list(model=self.model, filters=filters),
            self.output_serializer,
            context=output_context(request),
        )

    def post(self, request: Request) -> Response:
        require(request.user, KINDS[self.model]["draft"])
        serializer = self.draft_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        incident = fields.pop("incident")
        edited = open_draft_id(model=self.model, incident_id=incident.pk)
        doc = document_save_draft(
            model=self.model,
            incident=incident,
            actor=request.user,
            fields=fields,
            client_ip=client_ip(request),
        )
        return self.answer(
            request,
            doc.pk,
            status_code=status.HTTP_200_OK if doc.pk == edited else status.HTTP_201_CREATED,
        )


class DocumentDetailApi(DocumentApi):
    def get(self, request: Request, id: int) -> Response:
        return self.answer(request, id)


class DocumentSubmitApi(DocumentApi):
    def post(self, request: Request, id: int) -> Response:
        require(request.user, KINDS[self.model]["draft"])
        doc = self.document(id)
        SubmitSerializer(data=request.data).is_valid(raise_exception=True)
        document_submit(doc=doc, actor=request.user, client_ip=client_ip(request))
        return self.answer(request, id)


class DocumentDecideApi(DocumentApi):
    verdict = ""

    def post(self, request: Request, id: int) -> Response:
        doc = self.document(id)
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        document_decide(
            doc=doc,
            actor=request.user,
            verdict=self.verdict,
            comment=serializer.validated_data["comment"],
            client_ip=client_ip(request),
        )
        return self.answer(request, id)


DECISIONS = {
    # path: (verdict, summary)
    "approve": ("approve", "Approve this version"),
    "reject": ("reject", "Reject this version (a comment is required)"),
    "request-changes": ("request_changes", "Ask for changes (a comment is required)"),
}


def document_apis(
    model: type,
    *,
    tag: str,
    name: str,
    output: type[serializers.Serializer],
    draft: type[serializers.Serializer],
) -> dict[str, type[APIView]]:
    """The list, detail, submit and decision views of one kind of document, each with
    its schema."""
    attrs = {"model": model, "output_serializer": output, "draft_serializer": draft}
    prefix = model.__name__
    tags = [tag]

    def make(base: type[APIView], suffix: str, **extra: Any) -> type[APIView]:
        return type(f"{prefix}{suffix}Api", (base,), {**attrs, **extra})

    apis: dict[str, type[APIView]] = {
        "list": extend_schema_view(
            get=extend_schema(
                tags=tags,
                summary=f"List {name}s",
                description="Every version is an item, newest first, paginated; each with "
                "its decisions.",
                parameters=[DocumentFilterSerializer],
                responses={200: output(many=True), 400: ERRORS[400]},
            ),
            post=extend_schema(
                tags=tags,
                summary=f"Save the {name} draft",
                description="Edits the incident's open draft (200; only the fields sent "
                "change), or starts a new version (201) when the latest one was "
                "submitted; a version still awaiting a decision is then "
                "superseded.",
                request=draft,
                responses={
                    200: output,
                    201: output,
                    400: ERRORS[400],
                    403: ERRORS[403],
                    409: ERRORS[409],
                },
            ),
        )(make(DocumentListCreateApi, "ListCreate")),
        "detail": extend_schema_view(
            get=extend_schema(
                tags=tags,
                summary=f"Read a {name} version",
                responses={200: output, 404: ERRORS[404]},
            ),
        )(make(DocumentDetailApi, "Detail")),
        "submit": extend_schema_view(
            post=extend_schema(
                tags=tags,
                summary="Submit this draft for approval",
                description="The approvers the plan names at the incident's level, "
                "except those who wrote or edited the version, are notified, "
                "and the decision deadline starts. 409 naming the approver "
                "role when too few such people exist. Nothing to send.",
                request=None,
                responses={200: output, **ERRORS},
            ),
        )(make(DocumentSubmitApi, "Submit")),
    }
    for path, (verdict, summary) in DECISIONS.items():
        apis[path] = extend_schema_view(
            post=extend_schema(
                tags=tags,
                summary=summary,
                description="Ⅰ/Ⅱ: the leader or a deputy leader; Ⅲ/Ⅳ: the head of the "
                "unit that leads (the plan's routing). Nobody who wrote or "
                "edited the version may decide (403); a superseded or decided "
                "version is 409.",
                request=DecisionInputSerializer,
                responses={200: output, **ERRORS},
            ),
        )(make(DocumentDecideApi, verdict.title().replace("_", ""), verdict=verdict))
    return apis


response_plan_apis = document_apis(
    ResponsePlan,
    tag="response plans",
    name="response plan",
    output=ResponsePlanSerializer,
    draft=ResponsePlanDraftSerializer,
)
statement_apis = document_apis(
    Statement,
    tag="statements",
    name="statement",
    output=StatementSerializer,
    draft=StatementDraftSerializer,
)
review_apis = document_apis(
    Review, tag="reviews", name="review", output=ReviewSerializer, draft=ReviewDraftSerializer
)


class StatementPublishApi(DocumentApi):
    model = Statement
    output_serializer = StatementSerializer
    draft_serializer = StatementDraftSerializer

    @extend_schema(
        tags=["statements"],
        summary="Record the approved statement as published on a channel",
        description="The spokesperson only. The first publication meets the first public "
        "response and, at Ⅰ/Ⅱ, the official release deadline, at `published_at`.",
        request=PublishSerializer,
        responses={200: StatementSerializer, **ERRORS},
    )
    def post(self, request: Request, id: int) -> Response:
        require(request.user, "publish_statement")
        statement = self.document(id)
        serializer = PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        statement_publish(
            statement=statement,
            actor=request.user,
            client_ip=client_ip(request),
            **serializer.validated_data,
        )
        return self.answer(request, id)


# Tasks ----------------------------------------------------------------------------------------

TASK_TAGS = ["tasks"]


def _task(id: int) -> Task:
    try:
        return task_detail(pk=id)
    except Task.DoesNotExist:
        raise Http404 from None


def _task_answer(request: Request, id: int, *, status_code: int = 200) -> Response:
    return Response(
        TaskSerializer(_task(id), context=output_context(request)).data, status=status_code
    )


class TaskListCreateApi(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        tags=TASK_TAGS,
        summary="List tasks",
        description="By state and due time, paginated; the updates are left out (read one "
        "task to get them). `mine=true`: what I may work on.",
        parameters=[TaskFilterSerializer],
        responses={200: TaskListItemSerializer(many=True), 400: ERRORS[400]},
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, TaskFilterSerializer)
        return paginated_answer(
            self,
            request,
            task_list(user=request.user, filters=filters),
            TaskListItemSerializer,
            context=output_context(request),
        )

    @extend_schema(
        tags=TASK_TAGS,
        summary="Assign a task to a unit or one of its people",
        description="Without an assignee the unit's liaisons and head are told. A due time "
        "is a deadline the engine reminds and escalates.",
        request=TaskAssignSerializer,
        responses={201: TaskSerializer, 400: ERRORS[400], 403: ERRORS[403], 409: ERRORS[409]},
    )
    def post(self, request: Request) -> Response:
        require(request.user, "assign_task")
        serializer = TaskAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = task_assign(actor=request.user, **serializer.validated_data)
        return _task_answer(request, task.pk, status_code=status.HTTP_201_CREATED)


class TaskDetailApi(APIView):
    @extend_schema(
        tags=TASK_TAGS,
        summary="Read a task with its progress and outcome",
        responses={200: TaskSerializer, 404: ERRORS[404]},
    )
    def get(self, request: Request, id: int) -> Response:
        return _task_answer(request, id)


class TaskRecordApi(APIView):
    """Progress (``done`` False) or the outcome that completes the task."""

    done = False
    input_serializer: type[serializers.Serializer] = TaskRecordSerializer

    def post(self, request: Request, id: int) -> Response:
        task = _task(id)
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task_record(task=task, actor=request.user, done=self.done, **serializer.validated_data)
        return _task_answer(request, id)


TASK_RECORD_DESCRIPTION = (
    "The assignee, a liaison or the head of the task's unit, or the office head."
)
TaskProgressApi = extend_schema_view(
    post=extend_schema(
        tags=TASK_TAGS,
        summary="Record progress on the task",
        description=TASK_RECORD_DESCRIPTION,
        request=TaskRecordSerializer,
        responses={200: TaskSerializer, **ERRORS},
    )
)(type("TaskProgressApi", (TaskRecordApi,), {"done": False}))
TaskCompleteApi = extend_schema_view(
    post=extend_schema(
        tags=TASK_TAGS,
        summary="Complete the task with its outcome and evidence",
        description=f"{TASK_RECORD_DESCRIPTION} Meets the task's deadline.",
        request=TaskCompleteSerializer,
        responses={200: TaskSerializer, **ERRORS},
    )
)(
    type(
        "TaskCompleteApi",
        (TaskRecordApi,),
        {"done": True, "input_serializer": TaskCompleteSerializer},
    )
)


class TaskEvidenceApi(APIView):
    """An evidence file, to those who may see its task: as an attachment, with the type
    its content shows and ``nosniff``; behind nginx through X-Accel-Redirect."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)  # any Accept: a file

    @extend_schema(
        tags=TASK_TAGS,
        summary="Download the evidence file of a task's progress or outcome",
        description="The file's type is read from its content (an image, PDF, Word, Excel "
        "or plain text); it always comes as an attachment.",
        responses={
            (200, "*/*"): OpenApiResponse(response=OpenApiTypes.BINARY, description="The file."),
            403: ERRORS[403],
            404: ERRORS[404],
        },
    )
    def get(self, request: Request, id: int, update_id: int) -> HttpResponse:
        try:
            update = TaskUpdate.objects.select_related("task").get(pk=update_id, task_id=id)
        except TaskUpdate.DoesNotExist:
            raise Http404 from None
        if not permissions.may_see_task(request.user, update.task):
            raise PermissionDenied()
        if not update.attachment:
            raise Http404
        return evidence_answer(update.attachment)


def evidence_answer(field_file: Any) -> HttpResponse:
    """The stored file as a download (or nginx's to send, with the same headers)."""
    try:
        kind = evidence_kind(field_file)
    except FileNotFoundError:
        logger.warning("evidence file missing: %s", field_file.name)
        raise Http404 from None
    filename = PurePath(field_file.name).name
    prefix = settings.FENGHUO_EVIDENCE_X_ACCEL_PREFIX
    if prefix:
        answer = HttpResponse(content_type=kind.content_type)
        answer["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{quote(field_file.name)}"
        answer["Content-Disposition"] = content_disposition_header(True, filename)
    else:
        answer = FileResponse(
            field_file.open("rb"),
            as_attachment=True,
            filename=filename,
            content_type=kind.content_type,
        )
    answer["X-Content-Type-Options"] = "nosniff"
    answer["Content-Security-Policy"] = "default-src 'none'; sandbox"
    answer["Cache-Control"] = "private, no-cache"
    return answer


# Follow-up reports ----------------------------------------------------------------------------


class IncidentTrackerApi(APIView):
    @extend_schema(
        tags=["follow-ups"],
        summary="Name the tracker of an incident",
        description="The named person files the follow-up reports; the open follow-up due "
        f"passes to them. Who may: {who_may('assign_task')}",
        request=TrackerSerializer,
        responses={
            200: inline_serializer(
                "TrackerNamed",
                {"incident": serializers.IntegerField(), "tracker": serializers.IntegerField()},
            ),
            **ERRORS,
        },
    )
    def post(self, request: Request, id: int) -> Response:
        require(request.user, "assign_task")
        try:
            incident = Incident.objects.get(pk=id)
        except Incident.DoesNotExist:
            raise Http404 from None
        serializer = TrackerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = incident_name_tracker(
            incident=incident,
            actor=request.user,
            tracker=serializer.validated_data["tracker"],
            client_ip=client_ip(request),
        )
        return Response({"incident": incident.pk, "tracker": incident.tracker_id})


class FollowUpListCreateApi(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        tags=["follow-ups"],
        summary="List follow-up reports",
        description="Newest first, paginated, with the figures filed with each.",
        parameters=[FollowUpFilterSerializer],
        responses={200: FollowUpSerializer(many=True), 400: ERRORS[400]},
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, FollowUpFilterSerializer)
        return paginated_answer(self, request, follow_up_list(filters=filters), FollowUpSerializer)

    @extend_schema(
        tags=["follow-ups"],
        summary="File a follow-up report (续报)",
        description="While the incident is tracked (else 409). Who may: its tracker, and "
        f"{who_may('file_follow_up')} Meets the follow-up due and starts the next one at "
        "the level's cadence.",
        request=FollowUpCreateSerializer,
        responses={201: FollowUpSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = FollowUpCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        follow_up = follow_up_file(
            incident=data["incident"],
            actor=request.user,
            what_changed=data["what_changed"],
            actions_taken=data["actions_taken"],
            metrics=data.get("metrics"),
            at=data.get("at"),
            client_ip=client_ip(request),
        )
        try:
            follow_up = follow_up_detail(pk=follow_up.pk)
        except FollowUp.DoesNotExist:  # pragma: no cover - deleted in between
            raise Http404 from None
        return Response(FollowUpSerializer(follow_up).data, status=status.HTTP_201_CREATED)


# The review, exported ---------------------------------------------------------------------------


class _FileRenderer(BaseRenderer):
    """Lets a client ask for the file by its type; errors are still JSON."""

    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
EXPORTS = {"docx": DOCX, "pdf": "application/pdf"}
# How many characters of the record the export had to leave out (see response.exports).
REMOVED_HEADER = "X-Removed-Characters"


class ReviewExportApi(APIView):
    """The review report of an incident (``extension`` names the format)."""

    extension = "docx"

    def get_renderers(self) -> list[BaseRenderer]:
        renderer = type(
            f"{self.extension.title()}Renderer",
            (_FileRenderer,),
            {"media_type": EXPORTS[self.extension], "format": self.extension},
        )
        return [JSONRenderer(), renderer()]

    def get(self, request: Request, id: int) -> HttpResponse:
        from . import exports  # written alongside; loaded only when a report is asked for

        try:
            incident = Incident.objects.get(pk=id)
        except Incident.DoesNotExist:
            raise Http404 from None
        try:
            export = exports.review_export(incident, self.extension)
        except exports.ExportFontMissing as missing:
            # The server lacks a Chinese font: the administrator's to fix, not a crash.
            logger.error("review export: %s", missing)
            return HttpResponse(str(missing), status=503, content_type="text/plain")
        answer = HttpResponse(export.content, content_type=EXPORTS[self.extension])
        answer["Content-Disposition"] = f'attachment; filename="review-{id}.{self.extension}"'
        answer[REMOVED_HEADER] = str(export.removed)
        return answer


def _export_api(extension: str, summary: str) -> type[APIView]:
    view = type(f"Review{extension.title()}Api", (ReviewExportApi,), {"extension": extension})
    return extend_schema_view(
        get=extend_schema(
            tags=["reviews"],
            summary=summary,
            operation_id=f"v1_incidents_review_{extension}",
            description="The written review with the incident's record: timeline, figures, "
            "statements, tasks, follow-ups and the accountability section. A draft "
            "review is marked as such.",
            parameters=[
                OpenApiParameter("format", exclude=True),  # the path names the format
                OpenApiParameter(
                    REMOVED_HEADER,
                    OpenApiTypes.INT,
                    OpenApiParameter.HEADER,
                    response=[200],
                    description="Characters of the record left out: those a document cannot "
                    "hold (control characters), and text beyond the longest input "
                    "allows. The document says so under its title when not 0.",
                ),
            ],
            responses={
                (200, EXPORTS[extension]): OpenApiResponse(
                    response=OpenApiTypes.BINARY, description=f"review-<id>.{extension}"
                ),
                404: ERRORS[404],
            },
        )
    )(view)


ReviewDocxApi = _export_api("docx", "The review report as Word (.docx)")
ReviewPdfApi = _export_api("pdf", "The review report as PDF")
