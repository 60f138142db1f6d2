"""Limits on what a request may carry: the size of its body and the nesting of its JSON.

The default body limit is Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (files uploaded go
through upload handlers and do not count); a view whose documented input is larger sets
``max_body_bytes``, computed from its documented maxima with ``json_body_max_bytes``. Over
a limit the API answers 413 naming it in bytes, a page says it in words.
"""

import itertools
import re
from array import array
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError

# The largest values the database columns hold on every backend we run on: a count (an
# integer column: reads, reposts, versions) and an id (a big integer primary key). Input
# beyond them is a 400, never a database error.
MAX_COUNT = 2_147_483_647
MAX_ID = 9_223_372_036_854_775_807

# Deeper JSON is refused (400) before it is parsed: Python's parser recurses, and nothing
# Fenghuo takes in nests more than a few levels.
JSON_MAX_DEPTH = 64

# What any JSON encoder may spend on one character of a string: raw UTF-8 takes at most 4
# bytes, a \uXXXX escape 6 (Python's json.dumps and requests escape every non-ASCII
# character so by default). Only characters outside the BMP sent escaped take more (12).
JSON_BYTES_PER_CHAR = 6


def json_body_max_bytes(
    *, chars_per_item: int, items: int = 1, overhead_per_item: int = 1024
) -> int:
    """The largest JSON body of ``items`` objects holding ``chars_per_item`` characters of
    strings each at their most expensive encoding, plus room for keys, numbers, dates,
    punctuation and indentation."""
    return items * (chars_per_item * JSON_BYTES_PER_CHAR + overhead_per_item) + 1024


def body_max_bytes(view: Any = None) -> int:
    """The body limit of ``view``: its own ``max_body_bytes``, else the project's."""
    return getattr(view, "max_body_bytes", None) or settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class RequestBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(too_large_message(limit))

    def extra(self) -> dict[str, Any]:
        return {"max_bytes": self.limit}


class JSONTooDeep(ParseError):
    default_code = "json_too_deep"

    def __init__(self) -> None:
        super().__init__(
            _("The JSON is nested more than %(depth)d levels deep.") % {"depth": JSON_MAX_DEPTH}
        )

    def extra(self) -> dict[str, Any]:
        return {"max_depth": JSON_MAX_DEPTH}


def too_large_message(limit: int) -> str:
    return str(
        _(
            "The request body is larger than the limit of %(limit)d bytes. Send less "
            "at a time (for posts: smaller batches)."
        )
        % {"limit": limit}
    )


# The bracket scan. Escaped backslashes, then escaped quotes, are dropped so that strings
# become "[^"]*" and can be cut out in one pass; what remains of valid JSON is ASCII.
_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SIGNS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 and -1 as signed bytes


def json_nesting_exceeds(text: str, limit: int = JSON_MAX_DEPTH) -> bool:
    """Whether the JSON ``text`` nests arrays and objects more than ``limit`` deep. Exact
    for valid JSON; string operations that run in C, cheap even on the largest batch of
    posts (bench/README.md), so it runs before the parser instead of finding out by its
    recursion."""
    if text.count("[") + text.count("{") <= limit:
        return False
    if '"' in text:
        text = _STRING.sub("", text.replace("\\\\", "").replace('\\"', ""))
    signs = text.encode("utf-8", "surrogatepass").translate(_SIGNS, _NOT_BRACKETS)
    if b"\x01" * (limit + 1) in signs:
        return True
    return max(itertools.accumulate(array("b", signs)), default=0) > limit


def is_api_request(request: HttpRequest) -> bool:
    """Scripts talk to /api/: they get JSON; everything else is a page for a person."""
    return request.path_info.startswith("/api/")


def too_large_response(request: HttpRequest, limit: int) -> HttpResponse:
    """413 for a body over ``limit`` bytes: JSON naming the limit, or a page."""
    if is_api_request(request):
        return JsonResponse(
            {"detail": too_large_message(limit), "code": "request_too_large", "max_bytes": limit},
            status=413,
            json_dumps_params={"ensure_ascii": False},
        )
    return render(
        request, "413.html", {"limit": limit, "limit_mb": f"{limit / 2**20:.1f}"}, status=413
    )
