from django.urls import path

from . import views

app_name = "incidents"
urlpatterns = [
    path("", views.board, name="board"),
    path("board/list/", views.board_partial, name="board_partial"),
    path("incidents/new/", views.incident_create_view, name="create"),
    path("incidents/<int:pk>/", views.incident_detail_view, name="detail"),
    path("incidents/<int:pk>/act/<slug:action>/", views.incident_act, name="act"),
    path(
        "incidents/<int:pk>/level-changes/<int:change>/<slug:verdict>/",
        views.level_change_decide_view,
        name="decide_level_change",
    ),
    path("incidents/<int:pk>/metrics/", views.incident_metrics, name="metrics"),
    path("incidents/<int:pk>/edit/", views.incident_edit, name="edit"),
    path("statistics/", views.statistics_view, name="statistics"),
]
