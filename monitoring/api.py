"""The monitoring API (v1): the post intake and the post stream.

Thin views: ``monitoring.intake`` judges each item and stores the batch; the role table
(``INGEST_ROLES``) lives there too. Domain errors become 400/403 in ``core.api``.
"""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.api import paginated_answer, query_filters
from core.errors import InvalidInput

from .intake import MAX_BATCH, posts_ingest, posts_ingest_require
from .selectors import post_list
from .serializers import (
    IngestResultSerializer,
    PostFilterSerializer,
    PostInputSerializer,
    PostSerializer,
)

TAGS = ["monitoring"]


def _items(data: Any) -> Any:
    """The batch: the body itself when a list, or its ``posts`` list."""
    if isinstance(data, dict) and set(data) == {"posts"}:
        data = data["posts"]
    if not isinstance(data, list):
        raise InvalidInput(field_errors={"posts": ["Send a JSON list of posts, or "
                                                   "{\"posts\": [...]}."]})
    return data


class PostListIngestApi(APIView):
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        tags=TAGS,
        summary="Read the post stream",
        description="Newest published first, paginated. Any logged-in person may read it.",
        parameters=[PostFilterSerializer],
        responses={200: PostSerializer(many=True),
                   400: OpenApiResponse(description="A filter is not valid.")},
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(request, PostFilterSerializer)
        return paginated_answer(self, request, post_list(filters=filters), PostSerializer)

    @extend_schema(
        tags=TAGS,
        summary="Feed in a batch of posts",
        description=(
            f"A JSON list of posts (or `{{\"posts\": [...]}}`), at most {MAX_BATCH}. Each "
            "item is judged on its own: a malformed one is rejected with its index and "
            "reason while the others are stored. A post already stored (same URL, or, "
            "without a URL, same text) counts as a duplicate and its figures grow to the "
            "larger values. Roles: duty officer, analyst, office head, system "
            "administrator (the accounts crawlers use)."
        ),
        request=PostInputSerializer(many=True),
        responses={
            200: IngestResultSerializer,
            400: OpenApiResponse(description=f"Not a list, or more than {MAX_BATCH} posts."),
            403: OpenApiResponse(description="Not logged in, or the role may not feed posts."),
        },
    )
    def post(self, request: Request) -> Response:
        posts_ingest_require(request.user)
        result = posts_ingest(items=_items(request.data), source="api")
        return Response(IngestResultSerializer(result).data)
