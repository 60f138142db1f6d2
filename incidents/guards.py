"""Guards of the plan on transitions, registered by the apps that own them.

A guard takes the incident and answers ``None`` when the transition may go ahead, or a
message saying what is missing (e.g. the response app: "no approved response plan").
The service reports the messages as a 409; django-fsm sees them as conditions.
"""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Guard = Callable[[Any], str | None]

_GUARDS: dict[str, list[Guard]] = defaultdict(list)
# Relations the guards read, prefetched by the selectors so lists stay N+1 free.
_PREFETCH: set[str] = set()


def register(action: str, guard: Guard, *, prefetch: str | None = None) -> Guard:
    if guard not in _GUARDS[action]:
        _GUARDS[action].append(guard)
    if prefetch:
        _PREFETCH.add(prefetch)
    return guard


def prefetches() -> list[str]:
    return sorted(_PREFETCH)


def blocking_reasons(incident: Any, action: str) -> list[str]:
    return [message for guard in _GUARDS[action] if (message := guard(incident))]


def condition(action: str) -> Callable[[Any], bool]:
    def passes(incident: Any) -> bool:
        return not blocking_reasons(incident, action)

    passes.__name__ = f"guards_pass_for_{action}"
    return passes
