from django.contrib import admin

from core.admin import ReadOnlyAdminMixin

from .models import DeliveryAttempt, Notification, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Group robots (WeCom, DingTalk, Feishu) and generic webhooks, per unit. Switch one
    off rather than deleting it: its delivery history refers to it."""

    list_display = ["name", "unit", "format", "active", "created_at"]
    list_filter = ["format", "active", "unit"]
    list_select_related = ["unit"]
    search_fields = ["name", "unit__name"]
    fields = ["unit", "name", "format", "url", "secret", "active"]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["at", "ok", "status_code", "error", "duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: notifications are written by the services, in the transaction of the
    event that causes them; the admin only shows what was sent to whom."""

    # A webhook row has an endpoint (a group robot) instead of a recipient.
    list_display = [
        "kind",
        "recipient",
        "endpoint",
        "channel",
        "incident",
        "created_at",
        "delivered_at",
        "attempts",
        "failed_at",
        "acknowledged_at",
    ]
    list_filter = ["kind", "channel", ("failed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["recipient", "endpoint", "incident"]
    search_fields = ["title", "recipient__username", "recipient__display_name"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]
