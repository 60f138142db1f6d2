from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from engine.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("incidents.urls")),
    path("", include("response.urls")),
    path("organisation/", include("organisation.urls")),
    path("notifications/", include("notifications.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# Errors raised in middleware (a form body over the limit, a session saved to a locked
# database) get the same 413 and 503 answers as those raised in views (core.middleware).
handler400 = "core.views.bad_request"
handler500 = "core.views.server_error"
