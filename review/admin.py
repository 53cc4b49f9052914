from django.contrib import admin
from django.db.models import Q

from audit.models import AuditEvent
from randomisation.concealment import blindness_of
from sites.selectors import is_trial_manager


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The ledger, read-only. Monitors review it on their own pages."""

    list_display = [
        "seq",
        "at",
        "actor_username",
        "channel",
        "event_type",
        "object_type",
        "site_code",
    ]
    list_filter = ["channel", "event_type", "site_code"]

    def get_queryset(self, request):
        # The admin shows events whole, so those that would reveal an arm are left out for
        # anyone blinded where they happened.
        events = super().get_queryset(request)
        blindness = blindness_of(request.user)
        return events.exclude(blindness.q() & ~Q(conceal="")) if blindness else events

    def has_view_permission(self, request, obj=None) -> bool:
        return is_trial_manager(request.user)

    def has_module_permission(self, request) -> bool:
        return is_trial_manager(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
