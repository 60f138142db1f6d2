"""Plumbing the server-rendered pages share: a service's domain error becomes what the
person sees, and a form post answers with a redirect on success or the page again."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as Forbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from .errors import DomainError, InvalidInput, PermissionDenied, StaleVersion

BAD_INPUT = 400
CONFLICT = 409


def apply_domain_error(request: HttpRequest, exc: DomainError, form: Any = None) -> int:
    """The one place where a service's domain error becomes what the person sees.

    Bad input goes onto the form, field by field (fields the form lacks become errors of
    the whole form); a conflict becomes a message and the caller shows the record as it
    is now; a refused role is a 403 page. Answers the HTTP status to render with.
    """
    if isinstance(exc, PermissionDenied):
        raise Forbidden(str(exc.message)) from exc
    if isinstance(exc, InvalidInput):
        if form is None:
            messages.error(request, str(exc.message))
            return BAD_INPUT
        for field, errors in exc.field_errors.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, str(error))
        if not exc.field_errors:
            form.add_error(None, str(exc.message))
        return BAD_INPUT
    if isinstance(exc, StaleVersion) and exc.message is StaleVersion.default_message:
        messages.error(
            request,
            _(
                "Someone else changed this incident in the meantime. It has been reloaded: "
                "check it and try again."
            ),
        )
        return CONFLICT
    # A refused transition, or a conflict the service named ("already decided", say).
    messages.error(request, str(exc.message))
    return CONFLICT


def form_post(
    request: HttpRequest,
    form: Any,
    act: Callable[[dict[str, Any]], Any],
    *,
    done: str,
    to: str | Callable[[Any], str],
    again: Callable[[int, Any], HttpResponse],
) -> HttpResponse:
    """Validate ``form``, run ``act`` on its cleaned data (it calls a service) and answer:
    on success the message ``done`` and a redirect to ``to`` (a URL, or a function of what
    ``act`` answered), so a reload does not post again; on bad input or a conflict,
    ``again(status, form)`` renders the page with the form's errors (``form`` is None
    after a conflict: the page shows the record as it now is)."""
    if not form.is_valid():
        return again(BAD_INPUT, form)
    try:
        result = act(form.cleaned_data)
    except DomainError as exc:
        status = apply_domain_error(request, exc, form)
        return again(status, form if status == BAD_INPUT else None)
    messages.success(request, done)
    return redirect(to(result) if callable(to) else to)


def next_or(request: HttpRequest, default: str) -> str:
    """Where to go after a post: the page it came from (``next``, as sent by a step taken
    from another page, the board's work list say) when it is one of ours, else
    ``default``."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
