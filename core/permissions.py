"""Who may do what: one check over the tables the apps declare.

Each app keeps its table (action → roles) in its own ``permissions`` module and declares
it here when imported (its ``AppConfig.ready`` imports it); services, the API, the pages
and templates then ask ``can`` or ``require`` by action name. An action is declared once:
two apps declaring the same name differently is a configuration error."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .errors import PermissionDenied

_ACTION_ROLES: dict[str, frozenset[str]] = {}


def declare(table: Mapping[str, Iterable[str]]) -> None:
    """Add an app's actions and the roles that may take them."""
    for action, roles in table.items():
        roles = frozenset(roles)
        if _ACTION_ROLES.setdefault(action, roles) != roles:
            raise ImproperlyConfigured(f"permission {action!r} is declared twice, differently")


def roles_for(action: str) -> frozenset[str]:
    """The roles that may take ``action`` (KeyError for an action nobody declared)."""
    return _ACTION_ROLES[action]


def can(user: Any, action: str) -> bool:
    """Whether ``user``, signed in and active, holds a role that may take ``action``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.has_role(*roles_for(action))


def require(user: Any, action: str) -> None:
    """Refuse (PermissionDenied, 403) unless ``user`` may take ``action``."""
    if not can(user, action):
        raise PermissionDenied()
