from django.urls import path

from . import views

app_name = "organisation"
urlpatterns = [
    path("directory/", views.directory_view, name="directory"),
    path("roster/", views.roster_view, name="roster"),
]
