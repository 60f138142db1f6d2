"""The response pages: one page per incident with its response plan, statements, tasks,
follow-up reports and review, and a list of tasks for the person signed in.

Thin, like the incident pages: a form checks what was typed, a service in ``documents``,
``assignments`` or ``tracking`` acts, and ``apply_domain_error`` turns the service's
domain errors into form errors and messages. Who sees which form is read from
``permissions.can``, ``documents.approvers`` and the services' own tables."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, F, Prefetch, QuerySet, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from core.http import client_ip
from core.pages import apply_domain_error, form_post, next_or
from core.permissions import can
from incidents.choices import State
from incidents.models import Incident
from organisation.roles import Role
from plans.categories import Category

from . import permissions, selectors
from .assignments import task_assign, task_record
from .documents import (
    DRAFTABLE_STATES,
    KINDS,
    approvers,
    contributor_ids,
    document_decide,
    document_save_draft,
    document_submit,
    statement_publish,
)
from .forms import (
    DOCUMENT_FORMS,
    DecisionForm,
    FollowUpForm,
    PublishForm,
    ReviewForm,
    TaskAssignForm,
    TaskRecordForm,
    TrackerForm,
)
from .models import (
    Channel,
    Decision,
    DocumentState,
    FollowUp,
    Publication,
    ResponsePlan,
    Review,
    Statement,
    Task,
    TaskUpdate,
)
from .tracking import follow_up_file, incident_name_tracker

# The documents by the name they have in addresses, in the order the page shows them.
DOCUMENTS: dict[str, type] = {"plan": ResponsePlan, "statement": Statement, "review": Review}
DOCUMENT_TITLES = {
    "plan": gettext_lazy("Response plan"),
    "statement": gettext_lazy("Statements"),
    "review": gettext_lazy("Review"),
}
VERDICT_BUTTONS = [
    (Decision.Verdict.APPROVE, gettext_lazy("Approve"), "button-primary"),
    (Decision.Verdict.REQUEST_CHANGES, gettext_lazy("Request changes"), ""),
    (Decision.Verdict.REJECT, gettext_lazy("Reject"), "button-quiet"),
]


def _incident_or_404(pk: int) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related("unit", "plan_version", "tracker"), pk=pk
    )


def _documents(model: type, incident: Incident) -> list[Any]:
    queryset = (
        model.objects.filter(incident=incident)
        .select_related("author")
        .prefetch_related(
            Prefetch("decisions", queryset=Decision.objects.select_related("approver")),
            "contributors",
        )
    )
    if model is ResponsePlan:
        queryset = queryset.prefetch_related("units")
    if model is Statement:
        queryset = queryset.prefetch_related(
            Prefetch("publications", queryset=Publication.objects.select_related("published_by"))
        )
    docs = list(queryset.order_by("-version"))
    if model is ResponsePlan:
        categories = dict(Category.choices)
        for doc in docs:
            doc.category_label = categories.get(doc.category, doc.category)
    if model is Statement:
        labels = dict(Channel.choices)
        for doc in docs:
            doc.channel_names = [labels.get(c, c) for c in doc.channels]
    return docs


def _may_draft(user: Any, kind: str, incident: Incident) -> bool:
    model = DOCUMENTS[kind]
    return can(user, KINDS[model]["draft"]) and incident.state in DRAFTABLE_STATES[model]


def _draft_form(
    kind: str, incident: Incident, latest: Any, data: Any = None, files: Any = None
) -> Any:
    form_class = DOCUMENT_FORMS[DOCUMENTS[kind]]
    extra = {"is_drill": incident.is_drill} if form_class is ReviewForm else {}
    prefix = f"id_{kind}_%s"
    if data is not None:
        return form_class(data, auto_id=prefix, **extra)
    return form_class.from_document(latest, auto_id=prefix, **extra)


def _document_section(
    request: HttpRequest,
    kind: str,
    incident: Incident,
    approver_ids: set[int],
    bound: dict[str, Any],
) -> dict[str, Any]:
    user = request.user
    docs = _documents(DOCUMENTS[kind], incident)
    latest = docs[0] if docs else None
    may_draft = _may_draft(user, kind, incident)
    may_decide = (
        latest is not None
        and latest.state == DocumentState.SUBMITTED
        and user.pk in approver_ids
        and user.pk not in contributor_ids(latest)
        and all(d.approver_id != user.pk for d in latest.decisions.all())
    )
    section: dict[str, Any] = {
        "kind": kind,
        "title": DOCUMENT_TITLES[kind],
        "latest": latest,
        "earlier": docs[1:],
        "form": (bound.get(f"draft-{kind}") or _draft_form(kind, incident, latest))
        if may_draft
        else None,
        "may_submit": may_draft and latest is not None and latest.state == DocumentState.DRAFT,
        "decision_form": (
            bound.get(f"decide-{kind}") or DecisionForm(auto_id=f"id_decide_{kind}_%s")
        )
        if may_decide
        else None,
    }
    if kind == "statement":
        approved = next((d for d in docs if d.state == DocumentState.APPROVED), None)
        section["approved"] = approved
        section["publications"] = [p for d in reversed(docs) for p in d.publications.all()]
        if approved is not None and can(user, "publish_statement"):
            section["publish_form"] = bound.get("publish") or PublishForm(auto_id="id_publish_%s")
    return section


def _task_rows(
    request: HttpRequest, incident: Incident, bound: dict[str, Any]
) -> list[dict[str, Any]]:
    tasks = (
        _open_first(Task.objects.filter(incident=incident))
        .select_related("unit", "assignee", "deadline")
        .prefetch_related(Prefetch("updates", queryset=TaskUpdate.objects.select_related("author")))
    )
    rows = []
    for task in tasks:
        may_work = task.state == Task.State.OPEN and permissions.may_work_on_task(
            request.user, task
        )
        key = f"record-{task.pk}"
        rows.append(
            {
                "task": task,
                "open": key in bound,
                "form": (bound.get(key) or TaskRecordForm(auto_id=f"id_task{task.pk}_%s"))
                if may_work
                else None,
            }
        )
    return rows


def _render_page(
    request: HttpRequest, pk: int, *, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """The response page; ``bound`` holds a form the person just sent, with its errors."""
    incident = _incident_or_404(pk)
    bound = bound or {}
    user = request.user
    approver_ids = (
        {p.pk for p in approvers(incident=incident)} if incident.level is not None else set()
    )
    sections = {
        kind: _document_section(request, kind, incident, approver_ids, bound) for kind in DOCUMENTS
    }
    may_assign = incident.is_open and incident.level is not None and can(user, "assign_task")
    may_follow_up = incident.state == State.TRACKING and (
        incident.tracker_id == user.pk or can(user, "file_follow_up")
    )
    context = {
        "incident": incident,
        "plan": sections["plan"],
        "statement": sections["statement"],
        "review": sections["review"],
        "show_review": incident.state in (State.REVIEWING, State.CLOSED)
        or sections["review"]["latest"] is not None,
        "verdicts": VERDICT_BUTTONS,
        "tasks": _task_rows(request, incident, bound),
        "assign_form": (bound.get("assign") or TaskAssignForm(auto_id="id_assign_%s"))
        if may_assign
        else None,
        "follow_ups": list(
            FollowUp.objects.filter(incident=incident).select_related("author", "snapshot")
        ),
        "follow_up_form": (bound.get("follow_up") or FollowUpForm(auto_id="id_follow_up_%s"))
        if may_follow_up
        else None,
        "tracker_form": (
            bound.get("tracker")
            or TrackerForm(initial={"tracker": incident.tracker_id}, auto_id="id_tracker_%s")
        )
        if incident.is_open and incident.level and can(user, "assign_task")
        else None,
        "open_form": next(iter(bound), None),
    }
    return render(request, "response/incident.html", context, status=status)


def _after_post(
    request: HttpRequest,
    pk: int,
    *,
    key: str,
    form: Any,
    act: Any,
    done: str,
    anchor: str,
    to: str | None = None,
) -> HttpResponse:
    """Validate ``form``, run ``act`` (which calls services) and answer: back to the page
    (or to ``to``) with a message on success, or the page again with the form's errors
    or the conflict."""
    return form_post(
        request,
        form,
        act,
        done=done,
        to=to or f"{_page_url(pk)}#{anchor}",
        again=lambda status, bound: _render_page(
            request, pk, bound={key: bound} if bound is not None else None, status=status
        ),
    )


def _page_url(pk: int) -> str:
    return reverse("response:incident", args=[pk])


def _kind_or_404(kind: str) -> type:
    if kind not in DOCUMENTS:
        raise Http404(_("No such document."))
    return DOCUMENTS[kind]


# The pages ----------------------------------------------------------------------------


@login_required
@require_GET
def incident_response(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_page(request, pk)


@login_required
@require_POST
def document_draft(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """Save the draft; with the "submit" button, submit it for approval as well."""
    model = _kind_or_404(kind)
    incident = _incident_or_404(pk)
    form = _draft_form(kind, incident, None, request.POST)
    then_submit = request.POST.get("then") == "submit"

    def act(_data: dict[str, Any]) -> None:
        doc = document_save_draft(
            model=model,
            incident=incident,
            actor=request.user,
            fields=form.fields_for_service(),
            client_ip=client_ip(request),
        )
        if then_submit:
            document_submit(doc=doc, actor=request.user, client_ip=client_ip(request))

    return _after_post(
        request,
        pk,
        key=f"draft-{kind}",
        form=form,
        act=act,
        anchor=kind,
        done=_("Submitted for approval.") if then_submit else _("The draft has been saved."),
    )


def _document_or_404(kind: str, pk: int, doc_pk: int) -> Any:
    return get_object_or_404(_kind_or_404(kind), pk=doc_pk, incident_id=pk)


@login_required
@require_POST
def document_submit_view(request: HttpRequest, pk: int, kind: str, doc_pk: int) -> HttpResponse:
    doc = _document_or_404(kind, pk, doc_pk)
    try:
        document_submit(doc=doc, actor=request.user, client_ip=client_ip(request))
    except DomainError as exc:
        return _render_page(request, pk, status=apply_domain_error(request, exc))
    messages.success(request, _("Submitted for approval."))
    return redirect(f"{_page_url(pk)}#{kind}")


@login_required
@require_POST
def document_decide_view(request: HttpRequest, pk: int, kind: str, doc_pk: int) -> HttpResponse:
    """The decision; taken from another page (the board's work list sends ``next``) it
    goes back there on success. A refusal shows the response page with the reason."""
    doc = _document_or_404(kind, pk, doc_pk)
    form = DecisionForm(request.POST, auto_id=f"id_decide_{kind}_%s")
    return _after_post(
        request,
        pk,
        key=f"decide-{kind}",
        form=form,
        anchor=kind,
        act=lambda data: document_decide(
            doc=doc,
            actor=request.user,
            verdict=data["verdict"],
            comment=data["comment"],
            client_ip=client_ip(request),
        ),
        done=_("Your decision has been recorded."),
        to=next_or(request, f"{_page_url(pk)}#{kind}"),
    )


@login_required
@require_POST
def statement_publish_view(request: HttpRequest, pk: int, doc_pk: int) -> HttpResponse:
    statement = _document_or_404("statement", pk, doc_pk)
    form = PublishForm(request.POST, auto_id="id_publish_%s")
    return _after_post(
        request,
        pk,
        key="publish",
        form=form,
        anchor="statement",
        act=lambda data: statement_publish(
            statement=statement,
            actor=request.user,
            channel=data["channel"],
            published_at=data["published_at"],
            url=data["url"],
            client_ip=client_ip(request),
        ),
        done=_("The publication has been recorded."),
    )


@login_required
@require_POST
def task_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(pk)
    form = TaskAssignForm(request.POST, auto_id="id_assign_%s")
    return _after_post(
        request,
        pk,
        key="assign",
        form=form,
        anchor="tasks",
        act=lambda data: task_assign(
            incident=incident,
            actor=request.user,
            title=data["title"],
            unit=data["unit"],
            assignee=data["assignee"],
            due_at=data["due_at"],
            description=data["description"],
        ),
        done=_("The task has been assigned."),
    )


@login_required
@require_POST
def task_record_view(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    task = get_object_or_404(Task, pk=task_pk, incident_id=pk)
    form = TaskRecordForm(request.POST, request.FILES, auto_id=f"id_task{task.pk}_%s")
    return _after_post(
        request,
        pk,
        key=f"record-{task.pk}",
        form=form,
        anchor=f"task-{task.pk}",
        act=lambda data: task_record(
            task=task,
            actor=request.user,
            text=data["text"],
            link=data["link"],
            attachment=data["attachment"],
            done=data["done"],
            completed_at=data["completed_at"],
        ),
        done=_("The task is done.")
        if request.POST.get("done")
        else _("The progress has been recorded."),
    )


@login_required
@require_POST
def follow_up_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(pk)
    form = FollowUpForm(request.POST, auto_id="id_follow_up_%s")
    return _after_post(
        request,
        pk,
        key="follow_up",
        form=form,
        anchor="follow-ups",
        act=lambda data: follow_up_file(
            incident=incident,
            actor=request.user,
            what_changed=data["what_changed"],
            actions_taken=data["actions_taken"],
            metrics=form.metrics_given(),
            at=data["at"],
            client_ip=client_ip(request),
        ),
        done=_("The follow-up report has been filed."),
    )


@login_required
@require_POST
def tracker_view(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(pk)
    form = TrackerForm(request.POST, auto_id="id_tracker_%s")
    return _after_post(
        request,
        pk,
        key="tracker",
        form=form,
        anchor="follow-ups",
        act=lambda data: incident_name_tracker(
            incident=incident,
            actor=request.user,
            tracker=data["tracker"],
            client_ip=client_ip(request),
        ),
        done=_("The tracker has been named."),
    )


# The tasks list -------------------------------------------------------------------------


def _open_first(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """Open tasks first, the nearest due first; then the closed ones, newest first."""
    return tasks.order_by(
        Case(When(state=Task.State.OPEN, then=0), default=1),
        F("due_at").asc(nulls_last=True),
        "-id",
    )


def tasks_for(user: Any) -> tuple[QuerySet[Task], Any]:
    """Which tasks the list shows, and how it is headed: all open tasks for the office
    head, the unit's tasks for its liaison or head, else the tasks assigned to the person."""
    if user.has_role(Role.OFFICE_HEAD):
        tasks, heading = (
            selectors.task_list(user=user, filters={"state": Task.State.OPEN}),
            _("All open tasks"),
        )
    else:
        tasks = selectors.task_list(user=user, filters={"mine": True})
        heading = (
            _("Tasks of %(unit)s") % {"unit": user.unit}
            if user.unit_id and user.has_role(Role.LIAISON, Role.UNIT_HEAD)
            else _("Tasks assigned to me")
        )
    return _open_first(tasks.select_related("incident")), heading


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    tasks, heading = tasks_for(request.user)
    return render(request, "response/tasks.html", {"tasks": list(tasks), "heading": heading})
