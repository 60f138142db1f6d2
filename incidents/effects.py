"""Effects of the plan that other apps attach to transitions: each runs inside the
transition's transaction, after the state has changed (e.g. the response app opens the
follow-up clock when tracking starts). Registered in the owning app's ``ready``."""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Effect = Callable[..., None]

_EFFECTS: dict[str, list[Effect]] = defaultdict(list)


def register(action: str, effect: Effect) -> Effect:
    if effect not in _EFFECTS[action]:
        _EFFECTS[action].append(effect)
    return effect


def run(action: str, *, incident: Any, actor: Any, at: Any) -> None:
    for effect in _EFFECTS[action]:
        effect(incident=incident, actor=actor, at=at)
