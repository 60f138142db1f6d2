"""Free text typed in has a documented maximum length, so that pages, the API and the
exports stay fast whatever is pasted. The limits are constants next to their models
(``incidents.models.DESCRIPTION_MAX_LENGTH``, ``response.models.TEXT_MAX_LENGTH``, …);
serializers and forms use them as ``max_length`` and services check them here."""

from typing import Any

from django.utils.translation import gettext as _

from .errors import InvalidInput


def too_long(limit: int, **texts: Any) -> dict[str, list[str]]:
    """Field errors naming ``limit`` for each of ``texts`` longer than it."""
    return {
        name: [_("At most %(n)d characters.") % {"n": limit}]
        for name, text in texts.items()
        if isinstance(text, str) and len(text) > limit
    }


def require_lengths(limit: int, **texts: Any) -> None:
    """Refuse (InvalidInput, 400) when one of ``texts`` is longer than ``limit``."""
    errors = too_long(limit, **texts)
    if errors:
        raise InvalidInput(field_errors=errors)
