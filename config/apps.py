from django.contrib.admin.apps import AdminConfig


class TrialAdminConfig(AdminConfig):
    """The admin, on the trial's own site (config.admin_site), loaded once apps are ready."""

    default_site = "config.admin_site.TrialAdminSite"
