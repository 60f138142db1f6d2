"""The API's JSON parser: the body read up to the view's limit, its nesting bounded.

Not a subclass of DRF's ``JSONParser`` on purpose: DRF reads the body of those through
``request.body``, which applies the project-wide ``DATA_UPLOAD_MAX_MEMORY_SIZE`` before
any view could say that its documented input is larger (the post intake). This parser
reads the stream itself, with ``core.limits.body_max_bytes(view)``.
"""

from typing import Any

from django.conf import settings
from rest_framework import renderers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.settings import api_settings
from rest_framework.utils import json

from .limits import JSONTooDeep, RequestBodyTooLarge, body_max_bytes, json_nesting_exceeds


class JSONParser(BaseParser):
    media_type = "application/json"
    renderer_class = renderers.JSONRenderer
    strict = api_settings.STRICT_JSON

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        parser_context = parser_context or {}
        limit = body_max_bytes(parser_context.get("view"))
        request = parser_context.get("request")
        meta = request.META if request is not None else {}
        try:
            announced = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            announced = 0
        if announced > limit:  # refused before reading a byte of it
            raise RequestBodyTooLarge(limit)
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise RequestBodyTooLarge(limit)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if json_nesting_exceeds(text):
            raise JSONTooDeep()
        try:
            parse_constant = json.strict_constant if self.strict else None
            return json.loads(text, parse_constant=parse_constant)
        except RecursionError:  # the scan is exact for valid JSON; this is malformed
            raise JSONTooDeep() from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
