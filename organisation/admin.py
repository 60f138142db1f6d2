from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import DutyShift, RoleAssignment, Unit, User


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "parent", "duty_phone", "sort_order"]
    list_filter = ["kind"]
    search_fields = ["name"]


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 1


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [RoleAssignmentInline]
    list_display = ["username", "display_name", "unit", "phone", "is_active"]
    list_filter = ["unit", "role_assignments__role", "is_active"]
    search_fields = ["username", "display_name", "phone"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Organisation"), {"fields": ("display_name", "unit", "title", "phone")}),
    )


@admin.register(DutyShift)
class DutyShiftAdmin(admin.ModelAdmin):
    list_display = ["person", "role", "starts_at", "ends_at", "note"]
    list_filter = ["role"]
    date_hierarchy = "starts_at"
    autocomplete_fields = ["person"]
