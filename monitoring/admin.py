from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
