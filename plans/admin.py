from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import (
    ArrivalRule,
    DeadlineRule,
    EscalationStep,
    LevelPolicy,
    Plan,
    PlanVersion,
)
from .services import plan_version_new_draft, plan_version_publish


class FrozenUnlessDraftMixin:
    """A published or retired version is read-only: incidents depend on it."""

    def _editable(self, obj) -> bool:
        version = obj if isinstance(obj, PlanVersion) else getattr(obj, "version", None)
        return version is None or version.is_editable

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._editable(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._editable(obj)


class FrozenInlineMixin(FrozenUnlessDraftMixin):
    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._editable(obj)


class LevelPolicyInline(FrozenInlineMixin, admin.StackedInline):
    model = LevelPolicy
    extra = 0
    max_num = 4


class DeadlineRuleInline(FrozenInlineMixin, admin.TabularInline):
    model = DeadlineRule
    extra = 0


class EscalationStepInline(FrozenInlineMixin, admin.TabularInline):
    model = EscalationStep
    extra = 0


class ArrivalRuleInline(FrozenInlineMixin, admin.TabularInline):
    model = ArrivalRule
    extra = 0


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name"]


@admin.register(PlanVersion)
class PlanVersionAdmin(FrozenUnlessDraftMixin, admin.ModelAdmin):
    list_display = ["plan", "number", "status", "published_at", "published_by"]
    list_filter = ["status", "plan"]
    readonly_fields = ["status", "published_at", "published_by", "created_at"]
    inlines = [LevelPolicyInline, DeadlineRuleInline, EscalationStepInline, ArrivalRuleInline]
    actions = ["publish", "new_draft"]

    def has_delete_permission(self, request, obj=None):
        # Versions are history: drafts may go, versions that were in force stay.
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_editable)

    @admin.action(description=_("Bring the selected draft into force"))
    def publish(self, request, queryset):
        for version in queryset:
            try:
                plan_version_publish(version=version, actor=request.user)
            except ValidationError as exc:
                for message in exc.messages:
                    self.message_user(request, f"{version}: {message}", messages.ERROR)
            else:
                self.message_user(request, _("%(v)s is now in force.") % {"v": version})

    @admin.action(description=_("Start a new draft from the selected version"))
    def new_draft(self, request, queryset):
        drafts = [plan_version_new_draft(source=v) for v in queryset]
        self.message_user(
            request,
            ngettext("%(n)d draft created.", "%(n)d drafts created.", len(drafts))
            % {"n": len(drafts)},
        )
