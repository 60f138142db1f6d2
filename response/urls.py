from django.urls import path

from . import views

app_name = "response"
urlpatterns = [
    path("incidents/<int:pk>/response/", views.incident_response, name="incident"),
    path("incidents/<int:pk>/response/<slug:kind>/draft/", views.document_draft, name="draft"),
    path(
        "incidents/<int:pk>/response/<slug:kind>/<int:doc_pk>/submit/",
        views.document_submit_view,
        name="submit",
    ),
    path(
        "incidents/<int:pk>/response/<slug:kind>/<int:doc_pk>/decide/",
        views.document_decide_view,
        name="decide",
    ),
    path(
        "incidents/<int:pk>/response/statement/<int:doc_pk>/publish/",
        views.statement_publish_view,
        name="publish",
    ),
    path("incidents/<int:pk>/response/tasks/", views.task_assign_view, name="assign"),
    path("incidents/<int:pk>/response/tasks/<int:task_pk>/", views.task_record_view, name="record"),
    path("incidents/<int:pk>/response/follow-ups/", views.follow_up_view, name="follow_up"),
    path("incidents/<int:pk>/response/tracker/", views.tracker_view, name="tracker"),
    path("tasks/", views.task_list, name="tasks"),
]
