"""The Django admin, for trial set-up only: open to trial managers, not to every staff flag."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class TrialAdminSite(admin.AdminSite):
    site_header = "ReConnect trial manager: set-up"
    site_title = "Trial set-up"

    def has_permission(self, request) -> bool:
        from sites.selectors import is_trial_manager

        return request.user.is_active and is_trial_manager(request.user)


class TrialAdminConfig(AdminConfig):
    default_site = "config.admin_site.TrialAdminSite"
