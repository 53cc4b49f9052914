"""The Django admin, for trial set-up only: open to trial managers, not to every staff flag."""

from django.contrib import admin

from sites.selectors import is_trial_manager


class TrialAdminSite(admin.AdminSite):
    site_header = "ReConnect trial manager: set-up"
    site_title = "Trial set-up"

    def has_permission(self, request) -> bool:
        return request.user.is_active and is_trial_manager(request.user)
