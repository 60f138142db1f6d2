"""Effects that other apps attach to what happens to an incident: a transition (by its
action name) or an event such as ``upgrade_proposed``. Each runs inside the service's
transaction, after the change (the response app opens the follow-up clock when tracking
starts; the notifications app alerts people of a proposed upgrade; ``level_changed``,
with ``old_level`` and ``new_level``, re-routes pending approvals). Registered in the
owning app's ``ready``, so the incidents app never imports the apps above it."""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Effect = Callable[..., None]

_EFFECTS: dict[str, list[Effect]] = defaultdict(list)


def register(action: str, effect: Effect) -> Effect:
    if effect not in _EFFECTS[action]:
        _EFFECTS[action].append(effect)
    return effect


def run(action: str, *, incident: Any, actor: Any, at: Any, **details: Any) -> None:
    """Run the effects of ``action``; ``details`` (the event's own facts) go to each."""
    for effect in _EFFECTS[action]:
        effect(incident=incident, actor=actor, at=at, **details)
