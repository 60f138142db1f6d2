"""The monitoring board: the proposals waiting for a decision (refreshed by htmx), the
topics active lately with their posts per hour, and the post stream with its filters.
Thin: forms check what was typed, selectors read; deciding on a proposal is in
``topics.py`` with the topic page."""

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.errors import PermissionDenied
from core.permissions import require
from incidents.choices import Platform

from ..forms import ProposalAcceptForm, ProposalDismissForm, StreamFilterForm
from ..models import Proposal
from ..selectors import (
    level_policies_in_force,
    post_stream,
    proposals_open,
    topic_list,
    topics_hourly_posts,
)

NO_CONTENT = 204
BOARD_TOPICS = 50
TOPICS_ACTIVE_WITHIN = timedelta(hours=72)
STREAM_PAGE_SIZE = 25
SPARKLINE_HOURS = 24
SPARKLINE_WIDTH, SPARKLINE_HEIGHT, SPARKLINE_PAD = 96, 24, 2


# Helpers shared with the topic page --------------------------------------------------


def may_decide(user: Any) -> bool:
    """Whether the person may accept or dismiss proposals (the service says)."""
    try:
        require(user, "decide_proposal")
    except PermissionDenied:
        return False
    return True


def proposal_items(
    proposals: list[Proposal], *, user: Any, bound: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Each proposal with the plan's level (name, colour) and, for those who may decide
    on an open one, its accept and dismiss forms; ``bound`` holds the form just sent
    (``{"proposal": pk, "accept"|"dismiss": form}``), shown with its errors."""
    bound = bound or {}
    policies = level_policies_in_force() if proposals else {}
    decide = may_decide(user) if proposals else False
    items = []
    for proposal in proposals:
        item: dict[str, Any] = {
            "proposal": proposal,
            "policy": policies.get(proposal.suggested_level),
        }
        if decide and proposal.state == Proposal.State.PROPOSED:
            mine = bound.get("proposal") == proposal.pk
            prefix = f"id_p{proposal.pk}_%s"
            item["accept_form"] = (
                bound["accept"]
                if mine and "accept" in bound
                else ProposalAcceptForm(auto_id=prefix)
            )
            item["dismiss_form"] = (
                bound["dismiss"]
                if mine and "dismiss" in bound
                else ProposalDismissForm(auto_id=prefix)
            )
            item["dismiss_open"] = mine and "dismiss" in bound
        items.append(item)
    return items


def platform_label(code: str) -> str:
    try:
        return str(Platform(code).label)
    except ValueError:  # a platform the vocabulary has since lost
        return code


def platform_rows(platforms: dict[str, int] | None) -> list[dict[str, Any]]:
    """Posts per platform, most first, with the platform's name and share (%)."""
    platforms = platforms or {}
    total = sum(platforms.values()) or 1
    return [
        {
            "code": code,
            "label": platform_label(code),
            "posts": posts,
            "share": round(posts * 100 / total),
        }
        for code, posts in sorted(platforms.items(), key=lambda item: (-item[1], item[0]))
    ]


def sparkline(counts: list[int]) -> dict[str, Any]:
    """An inline SVG polyline of ``counts`` (oldest first), scaled to the largest."""
    peak = max(counts, default=0)
    step = SPARKLINE_WIDTH / max(len(counts) - 1, 1)
    span = SPARKLINE_HEIGHT - 2 * SPARKLINE_PAD
    points = " ".join(
        f"{index * step:.1f},"
        f"{SPARKLINE_HEIGHT - SPARKLINE_PAD - (count / peak * span if peak else 0):.1f}"
        for index, count in enumerate(counts)
    )
    return {
        "points": points,
        "peak": peak,
        "total": sum(counts),
        "width": SPARKLINE_WIDTH,
        "height": SPARKLINE_HEIGHT,
    }


# The board -----------------------------------------------------------------------------


def _proposals_context(request: HttpRequest, bound: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "proposal_items": proposal_items(list(proposals_open()), user=request.user, bound=bound),
        "origin": "board",
    }


def render_board(
    request: HttpRequest, *, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """The board; ``bound`` holds a decision form the person just sent, with its errors
    (see ``proposal_items``)."""
    now = timezone.now()
    topics = list(topic_list(filters={"since": now - TOPICS_ACTIVE_WITHIN})[:BOARD_TOPICS])
    hourly = topics_hourly_posts([topic.pk for topic in topics], hours=SPARKLINE_HOURS, now=now)
    topic_rows = [
        {
            "topic": topic,
            "platforms": platform_rows(topic.platforms),
            "sparkline": sparkline(hourly.get(topic.pk, [])),
        }
        for topic in topics
    ]

    # The stream: a bad filter value is shown on the form and filters nothing.
    filter_form = StreamFilterForm(request.GET if request.method == "GET" else None)
    if filter_form.is_bound and not filter_form.is_valid():
        page = None
    else:
        filters = filter_form.filters() if filter_form.is_bound else {}
        page = Paginator(post_stream(filters=filters), STREAM_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
    return render(
        request,
        "monitoring/board.html",
        {
            **_proposals_context(request, bound),
            "topic_rows": topic_rows,
            "topics_hours": SPARKLINE_HOURS,
            "topics_within": int(TOPICS_ACTIVE_WITHIN.total_seconds() // 3600),
            "filter_form": filter_form,
            "page": page,
        },
        status=status,
    )


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    return render_board(request)


@require_GET
def proposals_partial(request: HttpRequest) -> HttpResponse:
    """The proposals alone, which htmx fetches every 30 seconds."""
    if not request.user.is_authenticated:
        if request.headers.get("HX-Request"):
            # The session expired: keep the list as it is rather than swap a login page in.
            return HttpResponse(status=NO_CONTENT)
        return redirect_to_login(request.get_full_path())
    return render(request, "monitoring/_board_proposals.html", _proposals_context(request))
