"""The topic page (its figures, trend, platforms, sources, proposals and posts), and the
decisions on a proposal, sent from the topic page or the board. Thin: a form checks what
was typed, ``monitoring.topics.proposals`` decides, and ``apply_domain_error`` turns its domain
errors into form errors, messages and 403s."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from core.http import client_ip
from core.pages import BAD_INPUT, apply_domain_error
from core.permissions import require

from ..forms import ProposalAcceptForm, ProposalDismissForm
from ..models import Proposal, Topic
from ..selectors import (
    proposal_list,
    topic_copies,
    topic_list,
    topic_post_heads,
    topic_snapshots,
    topic_top_sources,
)
from ..topics.proposals import proposal_accept, proposal_dismiss
from .board import platform_label, platform_rows, proposal_items, render_board

TOPIC_PAGE_SIZE = 25
COPIES_SHOWN = 5


def _topic_or_404(pk: int) -> Topic:
    try:
        return topic_list().get(pk=pk)
    except Topic.DoesNotExist as exc:
        raise Http404(_("No such topic.")) from exc


def render_topic(
    request: HttpRequest, pk: int, *, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """The topic page; ``bound`` holds a decision form the person just sent."""
    topic = _topic_or_404(pk)
    page = Paginator(topic_post_heads(topic), TOPIC_PAGE_SIZE).get_page(request.GET.get("page"))
    heads = list(page.object_list)
    copies = topic_copies(
        topic, sources=[post.pk for post in heads if post.copies_count], per_source=COPIES_SHOWN
    )
    snapshots = list(topic_snapshots(topic))
    return render(
        request,
        "monitoring/topic.html",
        {
            "topic": topic,
            "platforms": platform_rows(topic.platforms),
            "top_sources": [
                {**row, "platform_label": platform_label(row["platform"])}
                for row in topic_top_sources(topic)
            ],
            "proposal_items": proposal_items(
                list(proposal_list(filters={"topic": topic})), user=request.user, bound=bound
            ),
            "origin": "topic",
            "page": page,
            "posts": [
                {
                    "post": post,
                    "copies": copies.get(post.pk, []),
                    "more_copies": max(post.copies_count - COPIES_SHOWN, 0),
                }
                for post in heads
            ],
            # The trend chart (ECharts): the snapshots in time order.
            "trend": [
                {
                    "at": s.taken_at.isoformat(),
                    "posts": s.posts,
                    "reads": s.reads,
                    "negative": round(float(s.negative_share) * 100, 1),
                }
                for s in snapshots
            ],
            "trend_names": {
                "posts": _("Posts"),
                "reads": _("Reads"),
                "negative": _("Negative share (%)"),
            },
        },
        status=status,
    )


@login_required
@require_GET
def topic_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_topic(request, pk)


# Deciding on a proposal -----------------------------------------------------------------


def _proposal_or_404(pk: int) -> Proposal:
    try:
        return Proposal.objects.select_related("topic").get(pk=pk)
    except Proposal.DoesNotExist as exc:
        raise Http404(_("No such proposal.")) from exc


def _decide(request: HttpRequest, pk: int, *, key: str, form: Any, act: Any) -> HttpResponse:
    """Check the role, validate ``form``, run ``act`` (which calls a service) and answer
    what ``act`` answers; on bad input or a conflict, the page the form was sent from
    (the board or the topic page) again, with the form's errors or the message."""
    proposal = _proposal_or_404(pk)
    try:
        require(
            request.user, "decide_proposal"
        )  # a role that may not decide gets 403, whatever it sent
    except DomainError as exc:
        apply_domain_error(request, exc)

    def again(status: int, bound: dict[str, Any] | None) -> HttpResponse:
        if request.POST.get("origin") == "board":
            return render_board(request, bound=bound, status=status)
        return render_topic(request, proposal.topic_id, bound=bound, status=status)

    if not form.is_valid():
        return again(BAD_INPUT, {"proposal": proposal.pk, key: form})
    try:
        return act(proposal, form.cleaned_data)
    except DomainError as exc:
        status = apply_domain_error(request, exc, form)
        # On a conflict (decided meanwhile) the person sees the proposals as they now are.
        return again(status, {"proposal": proposal.pk, key: form} if status == BAD_INPUT else None)


@login_required
@require_POST
def proposal_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(proposal: Proposal, data: dict[str, Any]) -> HttpResponse:
        incident = proposal_accept(
            proposal=proposal,
            actor=request.user,
            event_type=data["event_type"],
            client_ip=client_ip(request),
        )
        messages.success(request, _("The proposal is accepted: the incident is logged."))
        return redirect("incidents:detail", pk=incident.pk)

    form = ProposalAcceptForm(request.POST, auto_id=f"id_p{pk}_%s")
    return _decide(request, pk, key="accept", form=form, act=act)


@login_required
@require_POST
def proposal_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(proposal: Proposal, data: dict[str, Any]) -> HttpResponse:
        proposal_dismiss(proposal=proposal, actor=request.user, reason=data["reason"])
        messages.success(request, _("The proposal is dismissed."))
        if request.POST.get("origin") == "board":
            return redirect("monitoring:board")
        return redirect("monitoring:topic", pk=proposal.topic_id)

    form = ProposalDismissForm(request.POST, auto_id=f"id_p{pk}_%s")
    return _decide(request, pk, key="dismiss", form=form, act=act)
