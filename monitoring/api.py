"""The monitoring API (v1): the post intake, the post stream, the watch rules, the
sensitive-term lists, topics and incident proposals.

Thin views: ``monitoring.intake.batches`` judges each item and stores the batch;
``monitoring.text.matching`` writes and tries watch rules; ``monitoring.text.sensitive``
writes the term lists. Who may is ``monitoring.permissions``' table.
Domain errors become 400/403 in ``core.api``; an expression that does not parse is a 400
whose body also carries the numeric ``position`` of the mistake.
"""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.api import paginated_answer, query_filters
from core.errors import InvalidInput
from core.http import client_ip
from core.limits import json_body_max_bytes
from core.permissions import require
from organisation.roles import who_may

from .intake.batches import MAX_BATCH, posts_ingest
from .models import (
    AUTHOR_MAX_CHARS,
    TEXT_MAX_CHARS,
    URL_MAX_BYTES,
    Proposal,
    SensitiveTermList,
    WatchRule,
)
from .selectors import (
    post_list,
    proposal_list,
    rule_list,
    term_list_list,
    topic_list,
    topic_snapshots,
    topic_top_sources,
)
from .serializers import (
    IngestResultSerializer,
    PostFilterSerializer,
    PostInputSerializer,
    PostSerializer,
    ProposalAcceptSerializer,
    ProposalDismissSerializer,
    ProposalFilterSerializer,
    ProposalSerializer,
    RuleErrorSerializer,
    RuleFilterSerializer,
    RuleInputSerializer,
    RuleSerializer,
    RuleTryResultSerializer,
    RuleTrySerializer,
    TermListFilterSerializer,
    TermListInputSerializer,
    TermListSerializer,
    TopicDetailSerializer,
    TopicFilterSerializer,
    TopicSerializer,
)
from .text.matching import TRY_SCAN_LIMIT, InvalidExpression, rule_create, rule_try, rule_update
from .text.sensitive import term_list_create, term_list_update
from .topics.proposals import proposal_accept, proposal_dismiss

TAGS = ["monitoring"]


def _items(data: Any) -> Any:
    """The batch: the body itself when a list, or its ``posts`` list."""
    if isinstance(data, dict) and set(data) == {"posts"}:
        data = data["posts"]
    if not isinstance(data, list):
        raise InvalidInput(
            field_errors={"posts": ['Send a JSON list of posts, or {"posts": [...]}.']}
        )
    return data


# The documented maximum batch fits: MAX_BATCH posts with the longest text, author and
# URL, every character at its most expensive JSON encoding (core.limits).
INTAKE_MAX_BODY_BYTES = json_body_max_bytes(
    chars_per_item=TEXT_MAX_CHARS + AUTHOR_MAX_CHARS + URL_MAX_BYTES, items=MAX_BATCH
)


class PostListIngestApi(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS
    max_body_bytes = INTAKE_MAX_BODY_BYTES

    @extend_schema(
        tags=TAGS,
        summary="Read the post stream",
        description="Newest published first, paginated. Any logged-in person may read it.",
        parameters=[PostFilterSerializer],
        responses={
            200: PostSerializer(many=True),
            400: OpenApiResponse(description="A filter is not valid."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, PostFilterSerializer)
        return paginated_answer(self, request, post_list(filters=filters), PostSerializer)

    @extend_schema(
        tags=TAGS,
        summary="Feed in a batch of posts",
        description=(
            f'A JSON list of posts (or `{{"posts": [...]}}`), at most {MAX_BATCH}. Each '
            "item is judged on its own: a malformed one is rejected with its index and "
            "reason while the others are stored. A post already stored (same URL, or, "
            "without a URL, same text) counts as a duplicate and its figures grow to the "
            "larger values. Roles: duty officer, analyst, office head, system "
            "administrator (the accounts crawlers use). The body may take up to "
            f"{INTAKE_MAX_BODY_BYTES} bytes: {MAX_BATCH} posts of {TEXT_MAX_CHARS} "
            "characters, each character escaped as `\\uXXXX`."
        ),
        request=PostInputSerializer(many=True),
        responses={
            200: IngestResultSerializer,
            400: OpenApiResponse(description=f"Not a list, or more than {MAX_BATCH} posts."),
            403: OpenApiResponse(description="Not logged in, or the role may not feed posts."),
            413: OpenApiResponse(
                description=f"The body is larger than {INTAKE_MAX_BODY_BYTES} bytes."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        require(request.user, "ingest_posts")
        result = posts_ingest(items=_items(request.data), source="api")
        return Response(IngestResultSerializer(result).data)


RULE_TAGS = ["watch rules"]
RULE_ROLES_TEXT = "Who may: " + who_may("write_rules")
RULE_ERRORS = {
    400: OpenApiResponse(
        RuleErrorSerializer,
        description="Invalid input, with field messages. When the expression does not parse, "
        "`expression` says what is wrong and `position` is where (0-based).",
    ),
    403: OpenApiResponse(description="Not logged in, or the role may not write rules."),
}


class RuleApi(APIView):
    """A view of watch rules: a bad expression answers 400 with its ``position``."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, InvalidExpression):
            body = {
                "detail": str(exc.message),
                "code": "invalid",
                **{name: [str(m) for m in messages] for name, messages in exc.field_errors.items()},
                "position": exc.position,
                "syntax_error": exc.code,
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)


class RuleListCreateApi(RuleApi):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        tags=RULE_TAGS,
        summary="List watch rules",
        description="By unit and name, paginated. Any logged-in person may read them.",
        parameters=[RuleFilterSerializer],
        responses={
            200: RuleSerializer(many=True),
            400: OpenApiResponse(description="A filter is not valid."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, RuleFilterSerializer)
        return paginated_answer(self, request, rule_list(filters=filters), RuleSerializer)

    @extend_schema(
        tags=RULE_TAGS,
        summary="Create a watch rule",
        description="Active rules are matched against every post stored from then on. "
        + RULE_ROLES_TEXT,
        request=RuleInputSerializer,
        responses={201: RuleSerializer, **RULE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = RuleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = rule_create(actor=request.user, **serializer.validated_data)
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailApi(RuleApi):
    @extend_schema(
        tags=RULE_TAGS,
        summary="Read a watch rule",
        responses={200: RuleSerializer, 404: OpenApiResponse(description="No such rule.")},
    )
    def get(self, request: Request, id: int) -> Response:
        return Response(RuleSerializer(get_object_or_404(rule_list(), pk=id)).data)

    @extend_schema(
        tags=RULE_TAGS,
        summary="Change a watch rule",
        description="Any of `name`, `expression`, `unit`, `active`. Posts already stored keep "
        "their matches; later posts are matched by the rule as changed. " + RULE_ROLES_TEXT,
        request=RuleInputSerializer(partial=True),
        responses={
            200: RuleSerializer,
            **RULE_ERRORS,
            404: OpenApiResponse(description="No such rule."),
        },
    )
    def patch(self, request: Request, id: int) -> Response:
        rule = get_object_or_404(WatchRule, pk=id)
        serializer = RuleInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        rule = rule_update(rule=rule, actor=request.user, **serializer.validated_data)
        return Response(RuleSerializer(get_object_or_404(rule_list(), pk=rule.pk)).data)


class RuleTryApi(RuleApi):
    @extend_schema(
        tags=RULE_TAGS,
        summary="Try an expression on recent posts",
        description=(
            "The posts published in the last `days` that the expression matches, newest "
            f"first, at most `limit`. Only the newest {TRY_SCAN_LIMIT} posts of the window "
            "are read (`scanned`). Nothing is saved. " + RULE_ROLES_TEXT
        ),
        request=RuleTrySerializer,
        responses={200: RuleTryResultSerializer, **RULE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = RuleTrySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = rule_try(actor=request.user, **serializer.validated_data)
        return Response(RuleTryResultSerializer(result).data)


TERM_TAGS = ["sensitive terms"]
TERM_ERRORS = {
    400: OpenApiResponse(
        description="Invalid input, with field messages: no term, a term too long, too many terms."
    ),
    403: OpenApiResponse(description="Not logged in, or the role may not write the lists."),
}


class TermListListCreateApi(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        tags=TERM_TAGS,
        summary="List sensitive-term lists",
        description="By handling category and name, paginated. Any logged-in person may read them.",
        parameters=[TermListFilterSerializer],
        responses={
            200: TermListSerializer(many=True),
            400: OpenApiResponse(description="A filter is not valid."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, TermListFilterSerializer)
        return paginated_answer(self, request, term_list_list(filters=filters), TermListSerializer)

    @extend_schema(
        tags=TERM_TAGS,
        summary="Create a sensitive-term list",
        description="The terms of active lists are looked for in every post stored from then "
        "on; a post gets the terms found and the handling category most of them "
        "belong to. " + RULE_ROLES_TEXT,
        request=TermListInputSerializer,
        responses={201: TermListSerializer, **TERM_ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = TermListInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        term_list = term_list_create(actor=request.user, **serializer.validated_data)
        return Response(TermListSerializer(term_list).data, status=status.HTTP_201_CREATED)


class TermListDetailApi(APIView):
    @extend_schema(
        tags=TERM_TAGS,
        summary="Read a sensitive-term list",
        responses={200: TermListSerializer, 404: OpenApiResponse(description="No such list.")},
    )
    def get(self, request: Request, id: int) -> Response:
        return Response(TermListSerializer(get_object_or_404(term_list_list(), pk=id)).data)

    @extend_schema(
        tags=TERM_TAGS,
        summary="Change a sensitive-term list",
        description="Any of `category`, `name`, `terms`, `active`. Posts already stored keep "
        "what was found in them; later posts are scanned with the list as "
        "changed. " + RULE_ROLES_TEXT,
        request=TermListInputSerializer(partial=True),
        responses={
            200: TermListSerializer,
            **TERM_ERRORS,
            404: OpenApiResponse(description="No such list."),
        },
    )
    def patch(self, request: Request, id: int) -> Response:
        term_list = get_object_or_404(SensitiveTermList, pk=id)
        serializer = TermListInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        term_list = term_list_update(
            term_list=term_list, actor=request.user, **serializer.validated_data
        )
        return Response(TermListSerializer(term_list).data)


TOPIC_TAGS = ["topics and proposals"]


class TopicListApi(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        tags=TOPIC_TAGS,
        summary="List topics",
        description="Matching posts clustered by rule, time and similarity, most recently "
        "active first, with their figures and source post. Any logged-in "
        "person may read them.",
        parameters=[TopicFilterSerializer],
        responses={
            200: TopicSerializer(many=True),
            400: OpenApiResponse(description="A filter is not valid."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, TopicFilterSerializer)
        return paginated_answer(self, request, topic_list(filters=filters), TopicSerializer)


class TopicDetailApi(APIView):
    @extend_schema(
        tags=TOPIC_TAGS,
        summary="Read a topic",
        description="With its trend (figures over time) and its top sources.",
        responses={200: TopicDetailSerializer, 404: OpenApiResponse(description="No such topic.")},
    )
    def get(self, request: Request, id: int) -> Response:
        topic = get_object_or_404(topic_list(), pk=id)
        topic.trend = list(topic_snapshots(topic))
        topic.top_sources = topic_top_sources(topic)
        return Response(TopicDetailSerializer(topic).data)


PROPOSAL_ROLES_TEXT = "Roles: duty officer, analyst, office head."


class ProposalListApi(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        tags=TOPIC_TAGS,
        summary="List incident proposals",
        description="Topics that reached the plan's thresholds, newest first.",
        parameters=[ProposalFilterSerializer],
        responses={
            200: ProposalSerializer(many=True),
            400: OpenApiResponse(description="A filter is not valid."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, ProposalFilterSerializer)
        return paginated_answer(self, request, proposal_list(filters=filters), ProposalSerializer)


class ProposalDetailApi(APIView):
    @extend_schema(
        tags=TOPIC_TAGS,
        summary="Read an incident proposal",
        responses={200: ProposalSerializer, 404: OpenApiResponse(description="No such proposal.")},
    )
    def get(self, request: Request, id: int) -> Response:
        return Response(ProposalSerializer(get_object_or_404(proposal_list(), pk=id)).data)


DECISION_ERRORS = {
    400: OpenApiResponse(description="Invalid input, with field messages."),
    403: OpenApiResponse(description="Not logged in, or the role may not decide."),
    404: OpenApiResponse(description="No such proposal."),
    409: OpenApiResponse(description="The proposal was already decided."),
}


class ProposalAcceptApi(APIView):
    @extend_schema(
        tags=TOPIC_TAGS,
        summary="Accept a proposal: log the incident",
        description="Creates a `detected` incident linked to the topic, discovered when the "
        "topic's first post was published, with the topic's figures; the topic "
        "keeps feeding it figures. Answers the proposal, whose `incident` is the "
        "new incident's id. " + PROPOSAL_ROLES_TEXT,
        request=ProposalAcceptSerializer,
        responses={201: ProposalSerializer, **DECISION_ERRORS},
    )
    def post(self, request: Request, id: int) -> Response:
        proposal = get_object_or_404(Proposal, pk=id)
        serializer = ProposalAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal_accept(
            proposal=proposal,
            actor=request.user,
            client_ip=client_ip(request),
            **serializer.validated_data,
        )
        return Response(
            ProposalSerializer(get_object_or_404(proposal_list(), pk=id)).data,
            status=status.HTTP_201_CREATED,
        )


class ProposalDismissApi(APIView):
    @extend_schema(
        tags=TOPIC_TAGS,
        summary="Dismiss a proposal, with a reason",
        description="The topic is proposed again only if it reaches a more severe level. "
        + PROPOSAL_ROLES_TEXT,
        request=ProposalDismissSerializer,
        responses={200: ProposalSerializer, **DECISION_ERRORS},
    )
    def post(self, request: Request, id: int) -> Response:
        proposal = get_object_or_404(Proposal, pk=id)
        serializer = ProposalDismissSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal_dismiss(proposal=proposal, actor=request.user, **serializer.validated_data)
        return Response(ProposalSerializer(get_object_or_404(proposal_list(), pk=id)).data)
