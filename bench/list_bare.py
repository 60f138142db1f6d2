"""The yardstick of ``bench.list_bench``: a bare Django view answering the same JSON as
``GET /api/v1/incidents/`` (same fields, same rows, same page shape), written with
``values()`` and ``JsonResponse``, mounted beside the project's URLs for the bench only.

It works out each item's ``actions`` as directly as it can (the role table once, the
lifecycle as a table of states, the plan's two guards as one query each for the page): the least
a view must do to give the same answer, not a second home for those rules.
"""

from django.http import HttpRequest, HttpResponseForbidden, JsonResponse
from django.urls import path
from django.utils import timezone
from rest_framework.pagination import PageNumberPagination

from config.urls import urlpatterns as project_urlpatterns

# The lifecycle's transitions from each state, in the order the API lists them.
NEXT = {
    "detected": ("assess", "dismiss"),
    "assessed": ("report", "dismiss"),
    "reported": ("respond",),
    "responding": ("track",),
    "tracking": ("review",),
    "reviewing": ("close",),
}
FIELDS = (
    "id",
    "version",
    "title",
    "description",
    "links",
    "platform",
    "event_type",
    "unit_id",
    "unit__name",
    "state",
    "level",
    "colour",
    "suggested_level",
    "category",
    "discovered_at",
    "is_drill",
    "latest_metrics_id",
    "latest_metrics__taken_at",
    "latest_metrics__reads",
    "latest_metrics__reposts",
    "latest_metrics__comments",
    "latest_metrics__negative_share",
    "latest_metrics__mainstream_media",
    "latest_metrics__casualties",
    "latest_metrics__suggested_level",
)


def _moment(value):
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _page_url(request: HttpRequest, number: int | None) -> str | None:
    if number is None:
        return None
    query = request.GET.copy()
    if number == 1:
        query.pop("page", None)
    else:
        query["page"] = str(number)
    encoded = query.urlencode()
    return request.build_absolute_uri(request.path + (f"?{encoded}" if encoded else ""))


def incidents_bare(request: HttpRequest) -> JsonResponse | HttpResponseForbidden:
    from deadlines.models import Deadline
    from deadlines.services import ARRIVED
    from incidents.choices import REGRADABLE_STATES
    from incidents.models import Incident
    from incidents.permissions import ACTION_ROLES, can
    from response.models import DocumentState, ResponsePlan, Review

    user = request.user
    if not user.is_authenticated:
        return HttpResponseForbidden()
    size = PageNumberPagination.page_size
    number = int(request.GET.get("page", 1))
    incidents = Incident.objects.order_by("-discovered_at", "-id")
    count = incidents.count()
    rows = list(incidents.values(*FIELDS)[(number - 1) * size : number * size])
    deadlines: dict[int, list] = {row["id"]: [] for row in rows}
    approved_plans = set(
        ResponsePlan.objects.filter(
            incident_id__in=deadlines, state=DocumentState.APPROVED
        ).values_list("incident_id", flat=True)
    )
    approved_reviews = set(
        Review.objects.filter(incident_id__in=deadlines, state=DocumentState.APPROVED).values_list(
            "incident_id", flat=True
        )
    )
    for deadline in (
        Deadline.objects.filter(incident_id__in=deadlines)
        .order_by("due_at", "id")
        .values(
            "id",
            "incident_id",
            "kind",
            "due_at",
            "met_at",
            "status",
            "assignee_id",
            "escalation_step",
            "acknowledged_at",
            "fulfilled_by",
        )
    ):
        deadlines[deadline["incident_id"]].append(deadline)

    allowed = {action for action in ACTION_ROLES if can(user, action)}
    now = timezone.now()
    results = []
    for row in rows:
        items = []
        may_reject = may_arrive = False
        for d in deadlines[row["id"]]:
            status = d["status"]
            if status == "met":
                shown = "met_late" if d["met_at"] and d["met_at"] > d["due_at"] else "met"
            elif status == "cancelled":
                shown = "cancelled"
            else:
                shown = "overdue" if now >= d["due_at"] else "open"
                may_reject = may_reject or d["kind"] == "level_decision"
                may_arrive = may_arrive or (
                    d["fulfilled_by"] == ARRIVED and d["assignee_id"] == user.pk
                )
            items.append(
                {
                    "id": d["id"],
                    "kind": d["kind"],
                    "due_at": _moment(d["due_at"]),
                    "met_at": _moment(d["met_at"]),
                    "status": shown,
                    "assignee": d["assignee_id"],
                    "escalation_step": d["escalation_step"],
                    "acknowledged_at": _moment(d["acknowledged_at"]),
                }
            )
        state = row["state"]
        actions = [
            action
            for action in NEXT.get(state, ())
            if action in allowed
            and (action != "respond" or row["id"] in approved_plans)
            and (action != "close" or row["id"] in approved_reviews)
        ]
        if "change_level" in allowed and state in REGRADABLE_STATES:
            actions.append("change_level")
        if may_reject and "reject_upgrade" in allowed:
            actions.append("reject_upgrade")
        if may_arrive:
            actions.append("arrive")
        share = row["latest_metrics__negative_share"]
        results.append(
            {
                "id": row["id"],
                "version": row["version"],
                "title": row["title"],
                "description": row["description"],
                "links": row["links"],
                "platform": row["platform"],
                "event_type": row["event_type"],
                "unit": row["unit_id"],
                "unit_name": row["unit__name"],
                "state": state,
                "level": row["level"],
                "colour": row["colour"] or None,
                "suggested_level": row["suggested_level"],
                "category": row["category"] or None,
                "discovered_at": _moment(row["discovered_at"]),
                "is_drill": row["is_drill"],
                "metrics": None
                if row["latest_metrics_id"] is None
                else {
                    "id": row["latest_metrics_id"],
                    "taken_at": _moment(row["latest_metrics__taken_at"]),
                    "reads": row["latest_metrics__reads"],
                    "reposts": row["latest_metrics__reposts"],
                    "comments": row["latest_metrics__comments"],
                    "negative_share": float(share),
                    "mainstream_media": row["latest_metrics__mainstream_media"],
                    "casualties": row["latest_metrics__casualties"],
                    "suggested_level": row["latest_metrics__suggested_level"],
                },
                "deadlines": items,
                "actions": actions,
            }
        )
    pages = max(1, -(-count // size))
    return JsonResponse(
        {
            "count": count,
            "next": _page_url(request, number + 1 if number < pages else None),
            "previous": _page_url(request, number - 1 if number > 1 else None),
            "results": results,
        },
        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")},
    )


urlpatterns = [path("bench/incidents/", incidents_bare), *project_urlpatterns]
