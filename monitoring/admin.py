from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin

from .models import Post, PostMatch, WatchRule


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
