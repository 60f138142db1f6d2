class ReadOnlyAdminMixin:
    """For records that only services write (outbox rows, posts, rules with their
    checks): the admin shows them and changes nothing."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
