"""REST API v1, mounted at /api/v1/ (schema at /api/schema/, Swagger UI at /api/docs/)."""

from django.urls import path

from incidents.api import (
    FindingListCreateApi,
    IncidentArriveApi,
    IncidentChangeLevelApi,
    IncidentDetailApi,
    IncidentListCreateApi,
    IncidentMetricsApi,
    IncidentRejectUpgradeApi,
    LevelChangeApproveApi,
    LevelChangeListApi,
    LevelChangeRejectApi,
    transition_apis,
)
from monitoring.api import (
    PostListIngestApi,
    ProposalAcceptApi,
    ProposalDetailApi,
    ProposalDismissApi,
    ProposalListApi,
    RuleDetailApi,
    RuleListCreateApi,
    RuleTryApi,
    TermListDetailApi,
    TermListListCreateApi,
    TopicDetailApi,
    TopicListApi,
)
from notifications.api import MeWorkApi, NotificationAcknowledgeApi, NotificationListApi
from organisation.api import TokenObtainApi, UnitListApi
from response.api import (
    FollowUpListCreateApi,
    IncidentTrackerApi,
    ReviewDocxApi,
    ReviewPdfApi,
    StatementPublishApi,
    TaskCompleteApi,
    TaskDetailApi,
    TaskEvidenceApi,
    TaskListCreateApi,
    TaskProgressApi,
    response_plan_apis,
    review_apis,
    statement_apis,
)

app_name = "api"

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="token"),
    path("units/", UnitListApi.as_view(), name="unit-list"),
    path("incidents/", IncidentListCreateApi.as_view(), name="incident-list"),
    path("incidents/<int:id>/", IncidentDetailApi.as_view(), name="incident-detail"),
    path(
        "incidents/<int:id>/change-level/",
        IncidentChangeLevelApi.as_view(),
        name="incident-change-level",
    ),
    path("incidents/<int:id>/metrics/", IncidentMetricsApi.as_view(), name="incident-metrics"),
    path(
        "incidents/<int:id>/reject-upgrade/",
        IncidentRejectUpgradeApi.as_view(),
        name="incident-reject-upgrade",
    ),
    path("incidents/<int:id>/arrive/", IncidentArriveApi.as_view(), name="incident-arrive"),
    path("level-changes/", LevelChangeListApi.as_view(), name="level-change-list"),
    path(
        "level-changes/<int:id>/approve/",
        LevelChangeApproveApi.as_view(),
        name="level-change-approve",
    ),
    path(
        "level-changes/<int:id>/reject/",
        LevelChangeRejectApi.as_view(),
        name="level-change-reject",
    ),
    *[
        path(f"incidents/<int:id>/{transition}/", view.as_view(), name=f"incident-{transition}")
        for transition, view in transition_apis.items()
    ],
    path("incidents/<int:id>/review.docx", ReviewDocxApi.as_view(), name="incident-review-docx"),
    path("incidents/<int:id>/review.pdf", ReviewPdfApi.as_view(), name="incident-review-pdf"),
    *[
        url
        for prefix, apis in (
            ("response-plans", response_plan_apis),
            ("statements", statement_apis),
            ("reviews", review_apis),
        )
        for url in (
            path(f"{prefix}/", apis["list"].as_view(), name=f"{prefix[:-1]}-list"),
            path(f"{prefix}/<int:id>/", apis["detail"].as_view(), name=f"{prefix[:-1]}-detail"),
            *[
                path(
                    f"{prefix}/<int:id>/{action}/",
                    apis[action].as_view(),
                    name=f"{prefix[:-1]}-{action}",
                )
                for action in ("submit", "approve", "reject", "request-changes")
            ],
        )
    ],
    path("statements/<int:id>/publish/", StatementPublishApi.as_view(), name="statement-publish"),
    path("tasks/", TaskListCreateApi.as_view(), name="task-list"),
    path("tasks/<int:id>/", TaskDetailApi.as_view(), name="task-detail"),
    path("tasks/<int:id>/progress/", TaskProgressApi.as_view(), name="task-progress"),
    path("tasks/<int:id>/complete/", TaskCompleteApi.as_view(), name="task-complete"),
    path(
        "tasks/<int:id>/updates/<int:update_id>/attachment",
        TaskEvidenceApi.as_view(),
        name="task-evidence",
    ),
    path("follow-ups/", FollowUpListCreateApi.as_view(), name="follow-up-list"),
    path("accountability/", FindingListCreateApi.as_view(), name="finding-list"),
    path("incidents/<int:id>/tracker/", IncidentTrackerApi.as_view(), name="incident-tracker"),
    path("posts/", PostListIngestApi.as_view(), name="post-list"),
    path("rules/", RuleListCreateApi.as_view(), name="rule-list"),
    path("rules/try/", RuleTryApi.as_view(), name="rule-try"),
    path("rules/<int:id>/", RuleDetailApi.as_view(), name="rule-detail"),
    path("sensitive-terms/", TermListListCreateApi.as_view(), name="sensitive-term-list"),
    path("sensitive-terms/<int:id>/", TermListDetailApi.as_view(), name="sensitive-term-detail"),
    path("topics/", TopicListApi.as_view(), name="topic-list"),
    path("topics/<int:id>/", TopicDetailApi.as_view(), name="topic-detail"),
    path("proposals/", ProposalListApi.as_view(), name="proposal-list"),
    path("proposals/<int:id>/", ProposalDetailApi.as_view(), name="proposal-detail"),
    path("proposals/<int:id>/accept/", ProposalAcceptApi.as_view(), name="proposal-accept"),
    path("proposals/<int:id>/dismiss/", ProposalDismissApi.as_view(), name="proposal-dismiss"),
    path("notifications/", NotificationListApi.as_view(), name="notification-list"),
    path("me/work/", MeWorkApi.as_view(), name="me-work"),
    path(
        "notifications/<int:id>/acknowledge/",
        NotificationAcknowledgeApi.as_view(),
        name="notification-acknowledge",
    ),
]
