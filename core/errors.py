"""Domain errors. Services raise these; ``core.api`` maps them to HTTP answers and the
views turn them into form messages. None of them is ever a 500."""

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    default_message: Any = _("The request could not be carried out.")

    def __init__(self, message: Any = None, *, field_errors: dict[str, list[Any]] | None = None):
        self.message = message if message is not None else self.default_message
        self.field_errors = field_errors or {}
        super().__init__(str(self.message))


class InvalidInput(DomainError):
    """The input is wrong (HTTP 400); ``field_errors`` names the fields."""

    default_message = _("Some fields are not valid.")


class PermissionDenied(DomainError):
    """The actor's role may not do this (HTTP 403)."""

    default_message = _("Your role does not allow this action.")


class TransitionNotAllowed(DomainError):
    """Not possible from the current state, or a guard of the plan blocks it (HTTP 409)."""

    default_message = _("This action is not possible in the incident's current state.")


class StaleVersion(DomainError):
    """Someone else changed the record since the actor read it (HTTP 409)."""

    default_message = _(
        "Someone else changed this incident in the meantime. Reload it and try again."
    )
