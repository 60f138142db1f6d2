"""Reads of incidents for the board, the lists and the API; each a fixed number of
queries whatever the number of incidents."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db.models import (
    Case,
    Count,
    F,
    ForeignObjectRel,
    Model,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Value,
    When,
    prefetch_related_objects,
)

from deadlines.models import Deadline

from . import guards
from .choices import OPEN_STATES, State
from .models import Finding, Incident, TimelineEntry


def _with_related(queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    return queryset.select_related("unit", "latest_metrics", "plan_version").prefetch_related(
        Prefetch(
            "deadlines",
            queryset=Deadline.objects.select_related(
                "assignee", "task", "acknowledged_by"
            ).order_by("due_at"),
        ),
        "plan_version__levels",
        *guards.prefetches(),
    )


def _filtered(queryset: QuerySet[Incident], filters: dict[str, Any] | None) -> QuerySet[Incident]:
    filters = filters or {}
    for name, lookup in (("state", "state"), ("level", "level"), ("unit", "unit_id")):
        if filters.get(name):
            queryset = queryset.filter(**{lookup: filters[name]})
    return queryset


# The latest figures as the list shows them (``latest_metrics__…`` in a row).
LIST_METRICS = (
    "taken_at",
    "reads",
    "reposts",
    "comments",
    "negative_share",
    "mainstream_media",
    "casualties",
    "suggested_level",
)


class ListRows:
    """A list's rows as a paginator takes them: sliced as ``values()`` rows, counted on
    the filtered incidents alone. (The joins that bring a row its unit's name and
    figures change no count, but they made counting 10,000 incidents cost as much as
    reading the page.)"""

    def __init__(self, incidents: QuerySet[Incident], rows: QuerySet) -> None:
        self.incidents = incidents
        self.rows = rows

    def count(self) -> int:
        return self.incidents.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: int | slice) -> Any:
        return self.rows[index]


def incident_list(*, filters: dict[str, Any] | None = None) -> ListRows:
    """The incident list, newest discovery first, as plain rows (``values()``, no model
    instances): every column of the incident, ``unit__name`` and the latest figures as
    ``latest_metrics__…``. ``incident_list_complete`` completes one page of rows."""
    incidents = _filtered(Incident.objects.all(), filters)
    columns = [field.attname for field in Incident._meta.concrete_fields]
    rows = incidents.order_by("-discovered_at", "-id").values(
        *columns, "unit__name", *(f"latest_metrics__{name}" for name in LIST_METRICS)
    )
    return ListRows(incidents, rows)


def incident_list_complete(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page of ``incident_list`` rows, each given ``incident``: the incident as a model
    instance made from the row's own columns, with its deadlines (due first) and the
    relations the plan's guards read already loaded, so the rules that take an incident
    (``permissions.available_actions``) read it without a query. One query for the
    deadlines and one per guard relation, whatever the size of the page."""
    columns = [field.attname for field in Incident._meta.concrete_fields]
    incidents = [
        Incident.from_db(None, columns, [row[column] for column in columns]) for row in rows
    ]
    _related_load(
        incidents,
        {
            "deadlines": Deadline.objects.order_by("due_at", "id"),
            **{name: None for name in guards.prefetches()},
        },
    )
    for row, incident in zip(rows, incidents, strict=True):
        row["incident"] = incident
    return rows


def _related_load(incidents: list[Incident], relations: dict[str, QuerySet | None]) -> None:
    """Load the reverse relations named (with the queryset given, or the model's own) of
    every incident in one query each, into the cache ``incident.<name>.all()`` reads.

    ``prefetch_related_objects`` does the same but builds a queryset per incident and
    relation, which costs more than the rest of a page of the list."""
    caches: dict[int, dict[str, list]] = {incident.pk: {} for incident in incidents}
    by_id = {incident.pk: incident for incident in incidents}
    for incident in incidents:
        # Django's own attribute for prefetched rows (not in the model's type).
        cast(Any, incident)._prefetched_objects_cache = caches[incident.pk]
    if not by_id:
        return
    for name, queryset in relations.items():
        relation = Incident._meta.get_field(name)
        if not isinstance(relation, ForeignObjectRel):
            raise TypeError(f"{name} is not a reverse relation of Incident")
        key = relation.field.attname
        if queryset is None:
            queryset = cast(type[Model], relation.related_model)._default_manager.all()
        groups: dict[int, list] = {pk: [] for pk in by_id}
        for related in queryset.filter(**{f"{key}__in": list(by_id)}):
            incident = by_id[getattr(related, key)]
            relation.field.set_cached_value(related, incident)
            groups[incident.pk].append(related)
        for pk, group in groups.items():
            caches[pk][name] = group


@dataclass
class Board:
    """The duty board: the cards it shows and the counts of everything open.

    ``cards``: at most the configured number of open incidents matching the filters:
    unassessed leads first (待研判), the most severe suggestion first, then nearest open
    deadline first. ``total``: how many open incidents match the filters.
    ``by_level``, ``by_state`` and ``by_unit`` count the open incidents matching the
    *other* filters (a facet counts as if its own filter were not set), so each count
    is what choosing that value would show; ``None`` stands for "not graded"."""

    cards: list[Incident]
    total: int
    open: int
    by_level: dict[int | None, int]
    by_state: dict[str, int]
    by_unit: dict[int, int]


# Where graded incidents sort among the board's unassessed leads (ranked 1–4 by their
# suggested level): after them.
LEAD_RANK_GRADED = 9


def incident_board(*, filters: dict[str, Any] | None = None, cards: int) -> Board:
    """Open incidents for the board. ``filters`` may hold ``level`` (a level, or ``None``
    for the ungraded), ``state`` and ``unit``. Two queries for the counts and the cards,
    plus the cards' prefetches, whatever the number of open incidents."""
    filters = filters or {}
    tally = (
        Incident.objects.filter(state__in=OPEN_STATES)
        .values_list("level", "state", "unit_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    wanted = {
        "level": lambda level, state, unit: level == filters["level"],
        "state": lambda level, state, unit: state == filters["state"],
        "unit": lambda level, state, unit: unit == filters["unit"],
    }
    active = {name: test for name, test in wanted.items() if name in filters}
    board = Board(cards=[], total=0, open=0, by_level={}, by_state={}, by_unit={})
    for level, state, unit, n in tally:
        board.open += n
        passed = {name for name, test in active.items() if test(level, state, unit)}
        if len(passed) == len(active):
            board.total += n
        for name, counts, key in (
            ("level", board.by_level, level),
            ("state", board.by_state, state),
            ("unit", board.by_unit, unit),
        ):
            if passed >= set(active) - {name}:
                counts[key] = counts.get(key, 0) + n
    incidents = Incident.objects.filter(state__in=OPEN_STATES)
    if "level" in filters:
        incidents = incidents.filter(level=filters["level"])
    if "state" in filters:
        incidents = incidents.filter(state=filters["state"])
    if "unit" in filters:
        incidents = incidents.filter(unit_id=filters["unit"])
    # Which cards, sorted on their keys alone; then those incidents in full.
    chosen = list(
        incidents.annotate(
            # A look-up per incident on the deadlines' index, not a GROUP BY of every
            # open incident's columns.
            next_due=Subquery(
                Deadline.objects.filter(incident=OuterRef("pk"), status=Deadline.Status.OPEN)
                .order_by("due_at")
                .values("due_at")[:1]
            )
        )
        .annotate(
            # Unassessed leads first, the most severe suggestion first (待研判).
            lead_rank=Case(
                When(state=State.DETECTED, then=F("suggested_level")),
                default=Value(LEAD_RANK_GRADED),
            )
        )
        .order_by("lead_rank", F("next_due").asc(nulls_last=True), "level", "-discovered_at", "-id")
        .values_list("pk", flat=True)[:cards]
    )
    found = Incident.objects.select_related("unit", "plan_version").in_bulk(chosen)
    board.cards = [found[pk] for pk in chosen if pk in found]
    # The levels of each plan version once, shared by its incidents (``level_policy``).
    versions = {card.plan_version_id: card.plan_version for card in board.cards}
    for card in board.cards:
        card.plan_version = versions[card.plan_version_id]
    prefetch_related_objects(list(versions.values()), "levels")
    _related_load(board.cards, {"deadlines": Deadline.objects.order_by("due_at", "id")})
    return board


def incident_detail(*, pk: int) -> Incident:
    return (
        _with_related(Incident.objects.all())
        .select_related("created_by")
        .prefetch_related(
            Prefetch(
                "timeline",
                queryset=TimelineEntry.objects.select_related("actor").order_by("at", "id"),
            ),
            "snapshots",
        )
        .get(pk=pk)
    )


def incident_statistics(
    *, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """Counts for the leadership: incidents by level, handling category and outcome, and
    late reports by unit. Drills (演练) are kept out."""
    from django.db.models import Count

    from deadlines.models import LateReport

    incidents = Incident.objects.filter(is_drill=False)
    if since:
        incidents = incidents.filter(discovered_at__gte=since)
    if until:
        incidents = incidents.filter(discovered_at__lt=until)
    late = LateReport.objects.filter(incident__in=incidents)
    return {
        "total": incidents.count(),
        "by_level": dict(
            incidents.exclude(level=None)
            .values_list("level")
            .annotate(n=Count("id"))
            .order_by("level")
        ),
        "by_category": dict(
            incidents.exclude(category="")
            .values_list("category")
            .annotate(n=Count("id"))
            .order_by("category")
        ),
        "by_state": dict(incidents.values_list("state").annotate(n=Count("id")).order_by("state")),
        "late_reports": late.count(),
        "late_by_unit": list(
            late.values("unit__name").annotate(n=Count("id")).order_by("-n", "unit__name")
        ),
        # Findings of accountability (漏报, 谎报, 瞒报, 迟报, 表彰) by unit and kind.
        "findings_by_unit": list(
            Finding.objects.filter(incident__in=incidents)
            .values("unit__name", "kind")
            .annotate(n=Count("id"))
            .order_by("unit__name", "kind")
        ),
    }


def finding_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Finding]:
    """Findings of accountability, oldest first, filtered by incident, unit and kind."""
    filters = filters or {}
    found = Finding.objects.select_related("unit").order_by("recorded_at", "id")
    for name in ("incident", "unit", "kind"):
        if filters.get(name) is not None:
            found = found.filter(**{name: filters[name]})
    return found
