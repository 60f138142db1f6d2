from django.urls import path

from .views import board, imports, topics

app_name = "monitoring"
urlpatterns = [
    path("", board.board, name="board"),
    path("proposals/", board.proposals_partial, name="board_proposals"),
    path("proposals/<int:pk>/accept/", topics.proposal_accept_view, name="proposal_accept"),
    path("proposals/<int:pk>/dismiss/", topics.proposal_dismiss_view, name="proposal_dismiss"),
    path("topics/<int:pk>/", topics.topic_detail, name="topic"),
    path("imports/", imports.import_list_view, name="imports"),
    path("imports/<int:pk>/", imports.import_detail_view, name="import_detail"),
    path("imports/<int:pk>/progress/", imports.import_progress_view, name="import_progress"),
    path("imports/<int:pk>/errors.csv", imports.import_errors_view, name="import_errors"),
]
