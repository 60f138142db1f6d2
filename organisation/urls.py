
app_name = "organisation"
urlpatterns: list = []
