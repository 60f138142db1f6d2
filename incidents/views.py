"""The incident pages. Thin: a form checks what was typed, a service acts, and
``core.pages.apply_domain_error`` turns its domain errors into form errors and messages."""

import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as Forbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from core.http import client_ip
from core.pages import BAD_INPUT, apply_domain_error
from core.permissions import can
from plans.grading import suggest_level
from plans.levels import Level
from plans.models import DeadlineKind

from . import page_parts
from .choices import OPEN_STATES, State
from .forms import (
    ACTION_FORMS,
    UNGRADED,
    BoardFilterForm,
    IncidentCreateForm,
    IncidentEditForm,
    LevelChangeDecideForm,
    MetricsForm,
)
from .level_changes import may_decide, needs_decision, pending_level_change
from .models import Incident, LevelChange
from .permissions import available_actions, may_log_a_lead
from .presentation import ACTION_LABELS
from .selectors import incident_board, incident_detail
from .services import (
    incident_add_metrics,
    incident_arrive,
    incident_change_level,
    incident_create,
    incident_reject_upgrade,
    incident_transition,
    incident_update,
    level_change_decide,
)


def _incident_or_404(pk: int) -> Incident:
    try:
        return incident_detail(pk=pk)
    except Incident.DoesNotExist as exc:
        raise Http404(_("No such incident.")) from exc


# The board -------------------------------------------------------------------------


def _board_context(request: HttpRequest) -> dict[str, Any]:
    """The cards (at most ``FENGHUO_BOARD_CARDS``), the counts by level and state as
    links that set that filter (or clear it when set), and the filter form."""
    form = BoardFilterForm(request.GET)
    filters = form.filters()
    board = incident_board(filters=filters, cards=settings.FENGHUO_BOARD_CARDS)
    # The cards' state and deadline names, each looked up once (``get_…_display``
    # rebuilds a dictionary of the choices on every call).
    states = {value: str(label) for value, label in State.choices}
    kinds = {value: str(label) for value, label in DeadlineKind.choices}
    for incident in board.cards:
        incident.state_label = states.get(incident.state, incident.state)
        for deadline in incident.deadlines.all():
            deadline.kind_label = kinds.get(deadline.kind, deadline.kind)
    chosen = {name: request.GET[name] for name in ("level", "state", "unit") if name in filters}

    def facet(name: str, value: str, label: Any, count: int) -> dict[str, Any]:
        query = {**chosen, name: value}
        if chosen.get(name) == value:
            del query[name]
        return {
            "value": value,
            "label": label,
            "count": count,
            "query": urlencode(query),
            "chosen": chosen.get(name) == value,
        }

    return {
        "board": board,
        "incidents": board.cards,
        "filter_form": form,
        "filtered": bool(filters),
        "query": urlencode(chosen),
        "levels": [
            facet("level", str(level), label, board.by_level.get(level, 0))
            for level, label in Level.choices
        ]
        + [facet("level", UNGRADED, _("not graded"), board.by_level.get(None, 0))],
        "states": [
            facet("state", state.value, state.label, board.by_state.get(state.value, 0))
            for state in State
            if state in OPEN_STATES
        ],
    }


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    return render(request, "incidents/board.html", _board_context(request))


@login_required
@require_GET
def board_partial(request: HttpRequest) -> HttpResponse:
    """The board's list alone (with its counts), which htmx fetches every 30 seconds
    with the page's filters."""
    return render(request, "incidents/_board.html", _board_context(request))


# Logging an incident ----------------------------------------------------------------


@login_required
def incident_create_view(request: HttpRequest) -> HttpResponse:
    if not may_log_a_lead(request.user):
        raise Forbidden(_("Your role does not allow logging incidents."))
    status = 200
    if request.method == "POST":
        form = IncidentCreateForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                incident = incident_create(
                    actor=request.user, client_ip=client_ip(request), **form.service_kwargs()
                )
            except DomainError as exc:
                status = apply_domain_error(request, exc, form)
            else:
                messages.success(request, _("The incident has been logged."))
                return redirect("incidents:detail", pk=incident.pk)
        else:
            status = BAD_INPUT
    else:
        form = IncidentCreateForm(user=request.user)
    return render(request, "incidents/create.html", {"form": form}, status=status)


# The incident page ------------------------------------------------------------------


def _action_form(action: str, incident: Incident, data: Any = None) -> Any:
    initial: dict[str, Any] = {"version": incident.version}
    if action == "assess":
        initial["level"] = incident.suggested_level
    elif action == "change_level":
        initial["level"] = incident.level
    return ACTION_FORMS[action](data, initial=initial, auto_id=f"id_{action}_%s")


def _metrics_form(data: Any = None) -> MetricsForm:
    return MetricsForm(data, auto_id="id_metrics_%s")


def _edit_form(incident: Incident, data: Any = None) -> IncidentEditForm:
    if data is not None:
        return IncidentEditForm(data, auto_id="id_edit_%s")
    return IncidentEditForm.for_incident(incident, auto_id="id_edit_%s")


def _render_detail(
    request: HttpRequest, pk: int, *, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """The incident page; ``bound`` holds a form the person just sent, with its errors."""
    incident = _incident_or_404(pk)
    bound = bound or {}
    user = request.user
    actions = available_actions(user, incident)
    action_forms = [
        {
            "action": action,
            "label": ACTION_LABELS[action],
            "form": bound[action] if action in bound else _action_form(action, incident),
        }
        for action in actions
    ]
    snapshots = sorted(incident.snapshots.all(), key=lambda s: s.pk)
    latest = incident.latest_metrics
    previous = None
    if latest is not None:
        earlier = [s for s in snapshots if s.pk < latest.pk]
        previous = earlier[-1] if earlier else None
    suggestion = (
        suggest_level(version=incident.plan_version, metrics=latest, previous=previous)
        if latest is not None
        else None
    )
    level_change = pending_level_change(incident)
    may_add_metrics = incident.is_open and can(user, "add_metrics")
    may_edit = incident.is_open and can(user, "edit")
    context = {
        "incident": incident,
        "suggestion": suggestion,
        "snapshots": sorted(snapshots, key=lambda s: (s.taken_at, s.pk), reverse=True),
        "deadlines": list(incident.deadlines.all()),
        "timeline": list(incident.timeline.all()),
        # The trend chart (ECharts): the snapshots in time order.
        "metrics_chart": [
            {
                "at": s.taken_at.isoformat(),
                "reads": s.reads,
                "reposts": s.reposts,
                "comments": s.comments,
                "negative": round(float(s.negative_share) * 100, 1),
            }
            for s in sorted(snapshots, key=lambda s: (s.taken_at, s.pk))
        ],
        "metrics_series_names": json.dumps(
            {
                "reads": str(_("Reads")),
                "reposts": str(_("Reposts")),
                "comments": str(_("Comments")),
                "negative": str(_("Negative share (%)")),
            }
        ),
        "action_forms": action_forms,
        "level_change": level_change,
        "level_change_hint": _level_change_hint(user, incident)
        if "change_level" in actions
        else "",
        "level_change_form": (
            bound.get("level_change", LevelChangeDecideForm(auto_id="id_level_change_%s"))
            if level_change is not None
            and level_change.proposed_by_id != user.pk
            and may_decide(user, incident)
            else None
        ),
        "metrics_form": bound.get("metrics", _metrics_form()) if may_add_metrics else None,
        "edit_form": bound.get("edit", _edit_form(incident)) if may_edit else None,
        "open_form": next(iter(bound), None),
        **page_parts.context(incident),
    }
    return render(request, "incidents/detail.html", context, status=status)


def _level_change_hint(user: Any, incident: Incident) -> str:
    """What the level form tells the person: which changes wait for the leadership."""
    others = [n for n in Level.values if n != incident.level]
    waiting = [n for n in others if needs_decision(incident=incident, actor=user, level=n)]
    if not waiting:
        return ""
    if len(waiting) == len(others):
        return str(_("This change will need the leadership's decision."))
    return str(_("Raising applies at once; lowering will need the leadership's decision."))


@login_required
@require_GET
def incident_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, pk)


def _perform(action: str, *, request: HttpRequest, incident: Incident, data: dict[str, Any]) -> Any:
    common = {
        "incident": incident,
        "actor": request.user,
        "reason": data.get("reason", ""),
        "expected_version": data["version"],
        "client_ip": client_ip(request),
    }
    if action == "change_level":
        return incident_change_level(level=data["level"], **common)
    if action == "reject_upgrade":
        incident_reject_upgrade(
            incident=incident,
            actor=request.user,
            reason=common["reason"],
            client_ip=common["client_ip"],
        )
    elif action == "arrive":
        incident_arrive(
            incident=incident,
            actor=request.user,
            arrived_at=data.get("arrived_at"),
            client_ip=common["client_ip"],
        )
    elif action == "assess":
        incident_transition(
            action=action, level=data["level"], category=data.get("category") or None, **common
        )
    else:
        incident_transition(action=action, **common)
    return None


def _after_post(
    request: HttpRequest, pk: int, *, key: str, form: Any, act: Any, done: Any
) -> HttpResponse:
    """Validate ``form``, run ``act`` (which calls a service) and answer: back to the page
    with a message on success (``done``, or a function of what ``act`` answered), or the
    page again with the form's errors or the conflict."""
    if not form.is_valid():
        return _render_detail(request, pk, bound={key: form}, status=BAD_INPUT)
    try:
        result = act(form.cleaned_data)
    except DomainError as exc:
        status = apply_domain_error(request, exc, form)
        # On a conflict the person sees the incident as it now is, with fresh forms.
        return _render_detail(
            request, pk, bound={key: form} if status == BAD_INPUT else None, status=status
        )
    messages.success(request, done(result) if callable(done) else done)
    return redirect("incidents:detail", pk=pk)


@login_required
@require_POST
def incident_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTION_FORMS:
        raise Http404(_("No such action."))
    incident = _incident_or_404(pk)
    form = _action_form(action, incident, request.POST)
    return _after_post(
        request,
        pk,
        key=action,
        form=form,
        act=lambda data: _perform(action, request=request, incident=incident, data=data),
        done=lambda result: (
            _("The level change waits for the leadership's decision.")
            if isinstance(result, LevelChange)
            else _("Done: %(action)s.") % {"action": ACTION_LABELS[action]}
        ),
    )


@login_required
@require_POST
def level_change_decide_view(
    request: HttpRequest, pk: int, change: int, verdict: str
) -> HttpResponse:
    """A leader or deputy approves or rejects the level change proposed on the incident."""
    if verdict not in ("approve", "reject"):
        raise Http404(_("No such action."))
    proposed = LevelChange.objects.select_related("incident").filter(pk=change, incident=pk).first()
    if proposed is None:
        raise Http404(_("No such level change."))
    form = LevelChangeDecideForm(request.POST, auto_id="id_level_change_%s")
    return _after_post(
        request,
        pk,
        key="level_change",
        form=form,
        act=lambda data: level_change_decide(
            change=proposed,
            actor=request.user,
            approve=verdict == "approve",
            reason=data.get("reason", ""),
            client_ip=client_ip(request),
        ),
        done=(
            _("The level change is approved.")
            if verdict == "approve"
            else _("The level change is rejected: the level stays.")
        ),
    )


@login_required
@require_POST
def incident_metrics(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(pk)
    form = _metrics_form(request.POST)
    return _after_post(
        request,
        pk,
        key="metrics",
        form=form,
        act=lambda data: incident_add_metrics(
            incident=incident,
            actor=request.user,
            metrics=form.metrics(),
            taken_at=data.get("taken_at"),
            client_ip=client_ip(request),
        ),
        done=_("The new figures have been recorded."),
    )


@login_required
@require_POST
def incident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(pk)
    form = _edit_form(incident, request.POST)
    return _after_post(
        request,
        pk,
        key="edit",
        form=form,
        act=lambda data: incident_update(
            incident=incident,
            actor=request.user,
            changes=form.changes(incident),
            expected_version=data["version"],
            client_ip=client_ip(request),
            reason=data.get("reason", ""),
        ),
        done=_("The incident has been updated."),
    )


# Statistics ---------------------------------------------------------------------------


@login_required
@require_GET
def statistics_view(request: HttpRequest) -> HttpResponse:
    from plans.categories import Category
    from plans.levels import Level

    from .choices import State
    from .models import Finding
    from .selectors import incident_statistics

    stats = incident_statistics()
    return render(
        request,
        "incidents/statistics.html",
        {
            "stats": stats,
            "levels": [(str(Level(n).label), stats["by_level"].get(n, 0)) for n in Level.values],
            "categories": [
                (str(label), stats["by_category"].get(value, 0))
                for value, label in Category.choices
            ],
            "states": [
                (str(label), stats["by_state"].get(value, 0)) for value, label in State.choices
            ],
            "findings": [
                {
                    "unit": row["unit__name"],
                    "kind": str(Finding.Kind(row["kind"]).label),
                    "n": row["n"],
                }
                for row in stats["findings_by_unit"]
            ],
        },
    )
