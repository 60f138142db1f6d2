"""What other apps add to the incident page (the delivery log of notifications, say):
each part is a function of the incident answering more context for the template,
registered in the owning app's ``ready``, so the incidents app never imports upward."""

from collections.abc import Callable
from typing import Any

Part = Callable[[Any], dict[str, Any]]

_PARTS: list[Part] = []


def register(part: Part) -> Part:
    if part not in _PARTS:
        _PARTS.append(part)
    return part


def context(incident: Any) -> dict[str, Any]:
    """Every registered part's context for ``incident``."""
    found: dict[str, Any] = {}
    for part in _PARTS:
        found.update(part(incident))
    return found
