from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdminMixin

from .feeds import feed_poll
from .models import Feed, ImportJob, Post, PostMatch, WatchRule


@admin.register(Post)
class PostAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: posts arrive through the intake (``monitoring.intake``), which merges
    duplicates; an edit here would bypass it."""

    list_display = ["published_at", "platform", "source_type", "author", "short_text",
                    "reads", "reposts", "comments", "likes", "sentiment"]
    list_filter = ["platform", "source_type", "sentiment", "source"]
    search_fields = ["url", "author", "text"]
    date_hierarchy = "published_at"
    ordering = ["-published_at", "-id"]

    @admin.display(description=_("text"))
    def short_text(self, post: Post) -> str:
        return post.text[:60]


@admin.register(WatchRule)
class WatchRuleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: rules are written through ``monitoring.matching`` (rule_create,
    rule_update), which checks the expression and refreshes the compiled rule set."""

    list_display = ["name", "unit", "expression", "active", "created_by", "updated_at"]
    list_filter = ["active", "unit"]
    search_fields = ["name", "expression"]
    ordering = ["unit", "name", "id"]
    list_select_related = ["unit", "created_by"]


@admin.register(PostMatch)
class PostMatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["matched_at", "rule", "post"]
    list_filter = ["rule"]
    ordering = ["-matched_at", "-id"]
    list_select_related = ["rule", "post"]


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    """Feeds are configuration: added and edited here; ``monitoring.feeds`` polls them."""

    list_display = ["name", "platform", "source_type", "active", "state", "interval_minutes",
                    "last_polled_at", "last_ok_at", "last_accepted", "failures",
                    "next_poll_at", "short_error"]
    list_filter = ["active", "platform", "source_type"]
    search_fields = ["name", "url"]
    ordering = ["name"]
    fields = ["name", "url", "platform", "source_type", "active", "interval_minutes",
              "next_poll_at", "last_polled_at", "last_ok_at", "last_accepted", "failures",
              "last_error", "created_at"]
    readonly_fields = ["last_polled_at", "last_ok_at", "last_accepted", "failures",
                       "last_error", "created_at"]
    actions = ["poll_now"]

    @admin.display(description=_("state"))
    def state(self, feed: Feed) -> str:
        if not feed.active:
            return str(_("disabled"))
        if feed.leased_until and feed.leased_until > timezone.now():
            return str(_("polling"))
        if feed.failures:
            return str(_("failing"))
        return str(_("ok")) if feed.last_ok_at else str(_("not polled yet"))

    @admin.display(description=_("last error"))
    def short_error(self, feed: Feed) -> str:
        return feed.last_error[:80]

    def save_model(self, request, obj: Feed, form, change: bool) -> None:
        if change and "url" in form.changed_data:
            # The validators belong to the old address.
            obj.etag = obj.last_modified = ""
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Poll the selected feeds now"))
    def poll_now(self, request, queryset) -> None:
        polled = failed = new = 0
        for feed in queryset.filter(active=True):
            Feed.objects.filter(pk=feed.pk).update(next_poll_at=timezone.now())
            result = feed_poll(feed.pk)
            if not result.polled:
                continue
            polled += 1
            new += result.accepted
            if not result.ok:
                failed += 1
                self.message_user(request, f"{feed.name}: {result.error}", messages.WARNING)
        self.message_user(request, ngettext(
            "%(polled)d feed polled, %(failed)d failed, %(new)d new posts.",
            "%(polled)d feeds polled, %(failed)d failed, %(new)d new posts.", polled,
        ) % {"polled": polled, "failed": failed, "new": new}, messages.INFO)


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: imports are uploaded on the imports page and run by
    ``monitoring.imports``."""

    list_display = ["filename", "format", "state", "uploaded_by", "created_at",
                    "processed_rows", "total_rows", "accepted", "duplicate", "rejected"]
    list_filter = ["state", "format"]
    search_fields = ["filename"]
    ordering = ["-created_at", "-id"]
    list_select_related = ["uploaded_by"]
