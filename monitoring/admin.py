from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdminMixin
from core.errors import InvalidInput
from core.permissions import can

from .intake.feeds import feed_poll
from .models import Feed, ImportJob, Post, PostMatch, SensitiveTermList, WatchRule
from .text.sensitive import term_list_create, term_list_update, terms_check, terms_parse


@admin.register(Post)
class PostAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: posts arrive through the intake (``monitoring.intake.batches``), which merges
    duplicates; an edit here would bypass it."""

    list_display = [
        "published_at",
        "platform",
        "source_type",
        "author",
        "short_text",
        "reads",
        "reposts",
        "comments",
        "likes",
        "sentiment",
        "sensitive_category",
    ]
    list_filter = ["platform", "source_type", "sentiment", "sensitive_category", "source"]
    search_fields = ["url", "author", "text"]
    date_hierarchy = "published_at"
    ordering = ["-published_at", "-id"]

    @admin.display(description=_("text"))
    def short_text(self, post: Post) -> str:
        return post.text[:60]


@admin.register(WatchRule)
class WatchRuleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: rules are written through ``monitoring.text.matching`` (rule_create,
    rule_update), which checks the expression and refreshes the compiled rule set."""

    list_display = ["name", "unit", "expression", "active", "created_by", "updated_at"]
    list_filter = ["active", "unit"]
    search_fields = ["name", "expression"]
    ordering = ["unit", "name", "id"]
    list_select_related = ["unit", "created_by"]


TERM_LIST_FIELDS = ("category", "name", "terms", "active")


class SensitiveTermListForm(forms.ModelForm):
    class Meta:
        model = SensitiveTermList
        fields = TERM_LIST_FIELDS
        widgets = {"terms": forms.Textarea(attrs={"rows": 20, "cols": 60})}

    def clean_terms(self) -> str:
        try:
            return terms_check(self.cleaned_data["terms"])
        except InvalidInput as invalid:
            raise ValidationError(
                [str(message) for message in invalid.field_errors["terms"]]
            ) from None


@admin.register(SensitiveTermList)
class SensitiveTermListAdmin(admin.ModelAdmin):
    """Written through ``monitoring.text.sensitive`` (term_list_create, term_list_update), which
    checks the terms and has every process recompile them; by the roles that write watch
    rules. A list is switched off rather than deleted."""

    form = SensitiveTermListForm
    list_display = ["name", "category", "term_count", "active", "created_by", "updated_at"]
    list_filter = ["category", "active"]
    search_fields = ["name", "terms"]
    ordering = ["category", "name", "id"]
    list_select_related = ["created_by"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    @admin.display(description=_("terms"))
    def term_count(self, term_list: SensitiveTermList) -> int:
        return len(terms_parse(term_list.terms))

    def _may_write(self, request) -> bool:
        return can(request.user, "write_rules")

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and self._may_write(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self._may_write(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Without the admin's own transaction: the services' are durable and may not nest.
        # The form has checked everything they check, and they write in one transaction.
        return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj: SensitiveTermList, form, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in TERM_LIST_FIELDS}
        if change:
            term_list_update(
                term_list=obj,
                actor=request.user,
                **{name: fields[name] for name in form.changed_data if name in fields},
            )
        else:
            obj.pk = term_list_create(actor=request.user, **fields).pk
            obj.refresh_from_db()


@admin.register(PostMatch)
class PostMatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["matched_at", "rule", "post"]
    list_filter = ["rule"]
    ordering = ["-matched_at", "-id"]
    list_select_related = ["rule", "post"]


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    """Feeds are configuration: added and edited here; ``monitoring.intake.feeds`` polls them."""

    list_display = [
        "name",
        "platform",
        "source_type",
        "active",
        "state",
        "interval_minutes",
        "last_polled_at",
        "last_ok_at",
        "last_accepted",
        "failures",
        "next_poll_at",
        "short_error",
    ]
    list_filter = ["active", "platform", "source_type"]
    search_fields = ["name", "url"]
    ordering = ["name"]
    fields = [
        "name",
        "url",
        "platform",
        "source_type",
        "active",
        "interval_minutes",
        "next_poll_at",
        "last_polled_at",
        "last_ok_at",
        "last_accepted",
        "failures",
        "last_error",
        "created_at",
    ]
    readonly_fields = [
        "last_polled_at",
        "last_ok_at",
        "last_accepted",
        "failures",
        "last_error",
        "created_at",
    ]
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
        self.message_user(
            request,
            ngettext(
                "%(polled)d feed polled, %(failed)d failed, %(new)d new posts.",
                "%(polled)d feeds polled, %(failed)d failed, %(new)d new posts.",
                polled,
            )
            % {"polled": polled, "failed": failed, "new": new},
            messages.INFO,
        )


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: imports are uploaded on the imports page and run by
    ``monitoring.intake.imports``."""

    list_display = [
        "filename",
        "format",
        "state",
        "uploaded_by",
        "created_at",
        "processed_rows",
        "total_rows",
        "accepted",
        "duplicate",
        "rejected",
    ]
    list_filter = ["state", "format"]
    search_fields = ["filename"]
    ordering = ["-created_at", "-id"]
    list_select_related = ["uploaded_by"]
