"""Admin for set-up. Every change goes through the same services as the pages and the API."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from simple_history.admin import SimpleHistoryAdmin

from core.channels import Channel
from core.errors import TrialError

from .lifecycle import DETAIL_FIELDS, site_register, site_update
from .memberships import membership_grant
from .models import Delegation, Membership, Site, SiteStatusStep
from .selectors import is_trial_manager


class _Refused(Exception):
    """A service refused an admin change; nothing was written."""


class ReadOnlyAdmin(SimpleHistoryAdmin):
    """Shown for reference; changed only through the pages and the API."""

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


class SiteAdminForm(forms.ModelForm):
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this change is made (kept in the audit trail)",
    )

    class Meta:
        model = Site
        fields = ["trial", "code", *DETAIL_FIELDS]


@admin.register(Site)
class SiteAdmin(ReadOnlyAdmin):
    form = SiteAdminForm
    list_display = ["code", "name", "nhs_trust", "status", "recruitment_target"]
    readonly_fields = ["status", "ethics_approval_date", "rnd_approval_date"]

    def has_add_permission(self, request) -> bool:
        return is_trial_manager(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_trial_manager(request.user, obj.trial if obj else None)

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        return [*fields, "trial", "code"] if obj else fields

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in DETAIL_FIELDS if f in form.cleaned_data}
        try:
            if change:
                changed = {f: v for f, v in data.items() if f in form.changed_data}
                site = site_update(
                    site=Site.objects.get(pk=obj.pk),
                    actor=request.user,
                    channel=Channel.ADMIN,
                    reason=form.cleaned_data.get("reason", ""),
                    **changed,
                )
            else:
                data.pop("principal_investigator", None)
                site = site_register(
                    trial=form.cleaned_data["trial"],
                    code=form.cleaned_data["code"],
                    actor=request.user,
                    channel=Channel.ADMIN,
                    **data,
                )
        except TrialError as exc:
            raise _Refused(exc.message) from exc
        obj.pk = site.pk

    @method_decorator(csrf_protect)
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Django's admin wraps this view in a transaction; the services open their own
        # durable one (one change, one audit event), so the admin's must not enclose it.
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)
        except _Refused as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request, form, formsets, change):
        """Sites have no inline relations; the service already saved everything."""


class MembershipAdminForm(forms.ModelForm):
    starts_on = forms.DateField(required=False, help_text="Today if left empty")

    class Meta:
        model = Membership
        fields = ["trial", "user", "role", "site", "starts_on"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    """Roles are granted here through the same service as the pages and the API (which
    refuses, for one, a role that reads allocations for someone blinded at that site);
    they are ended on the pages or through the API."""

    form = MembershipAdminForm
    list_display = ["user", "role", "site", "starts_on", "ends_on"]
    list_select_related = ["user", "site", "trial"]
    list_filter = ["role", "site"]

    def has_add_permission(self, request) -> bool:
        return is_trial_manager(request.user)

    def save_model(self, request, obj, form, change):
        try:
            membership = membership_grant(
                actor=request.user,
                channel=Channel.ADMIN,
                user=form.cleaned_data["user"],
                trial=form.cleaned_data["trial"],
                role=form.cleaned_data["role"],
                site=form.cleaned_data.get("site"),
                starts_on=form.cleaned_data.get("starts_on"),
            )
        except TrialError as exc:
            raise _Refused(exc.message) from exc
        obj.pk = membership.pk

    @method_decorator(csrf_protect)
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # As for sites: the service's durable transaction must not sit inside the admin's.
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)
        except _Refused as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request, form, formsets, change):
        """Memberships have no inline relations; the service already saved everything."""


@admin.register(Delegation)
class DelegationAdmin(ReadOnlyAdmin):
    list_select_related = ["membership__user", "membership__site"]


@admin.register(SiteStatusStep)
class SiteStatusStepAdmin(ReadOnlyAdmin):
    list_select_related = ["site"]


# django-otp registers its devices for the admin; here they would show a secret key and be
# changed without the audited reset (sites/second_factor.py). The account page resets them.
for _device in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device):
        admin.site.unregister(_device)
