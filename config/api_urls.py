"""REST API v1, mounted at /api/v1/ (schema at /api/schema/, Swagger UI at /api/docs/)."""

from django.urls import path

from incidents.api import (
    IncidentArriveApi,
    IncidentChangeLevelApi,
    IncidentDetailApi,
    IncidentListCreateApi,
    IncidentMetricsApi,
    IncidentRejectUpgradeApi,
    transition_apis,
)
from notifications.api import NotificationAcknowledgeApi, NotificationListApi
from organisation.api import TokenObtainApi, UnitListApi

app_name = "api"

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="token"),
    path("units/", UnitListApi.as_view(), name="unit-list"),
    path("incidents/", IncidentListCreateApi.as_view(), name="incident-list"),
    path("incidents/<int:id>/", IncidentDetailApi.as_view(), name="incident-detail"),
    path("incidents/<int:id>/change-level/", IncidentChangeLevelApi.as_view(),
         name="incident-change-level"),
    path("incidents/<int:id>/metrics/", IncidentMetricsApi.as_view(), name="incident-metrics"),
    path("incidents/<int:id>/reject-upgrade/", IncidentRejectUpgradeApi.as_view(),
         name="incident-reject-upgrade"),
    path("incidents/<int:id>/arrive/", IncidentArriveApi.as_view(), name="incident-arrive"),
    *[
        path(f"incidents/<int:id>/{transition}/", view.as_view(), name=f"incident-{transition}")
        for transition, view in transition_apis.items()
    ],
    path("notifications/", NotificationListApi.as_view(), name="notification-list"),
    path("notifications/<int:id>/acknowledge/", NotificationAcknowledgeApi.as_view(),
         name="notification-acknowledge"),
]
