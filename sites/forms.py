from django import forms
from django.contrib.auth import get_user_model

from core.roles import Duty, Role

from .models import SiteStatus


class DateInput(forms.DateInput):
    """The browser's date picker: its value is always ISO 8601, whatever the locale."""

    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):
        super().__init__(attrs=attrs, format=format)


class PersonChoiceField(forms.ModelChoiceField):
    """A choice of person, each by their name (by their username when they have none)."""

    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class SiteRegisterForm(forms.Form):
    code = forms.CharField(max_length=3, help_text="Three capital letters, e.g. BUC")
    name = forms.CharField(max_length=200)
    nhs_trust = forms.CharField(label="NHS trust", max_length=200)
    local_authority = forms.CharField(max_length=200)
    recruitment_target = forms.IntegerField(
        min_value=1, max_value=100_000, help_text="Families to randomise at this site"
    )


class SiteUpdateForm(forms.Form):
    name = forms.CharField(max_length=200)
    nhs_trust = forms.CharField(label="NHS trust", max_length=200)
    local_authority = forms.CharField(max_length=200)
    recruitment_target = forms.IntegerField(min_value=1, max_value=100_000)
    principal_investigator = PersonChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        help_text="Must hold the principal investigator role at this site",
    )
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, pi_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if pi_choices is not None:
            self.fields["principal_investigator"].queryset = pi_choices


class SiteStatusForm(forms.Form):
    status = forms.ChoiceField(choices=SiteStatus.choices, widget=forms.HiddenInput)
    effective_date = forms.DateField(
        required=False, widget=DateInput, help_text="Date of this step; today if left empty"
    )
    ethics_approval_date = forms.DateField(required=False, widget=DateInput)
    rnd_approval_date = forms.DateField(label="R&D approval date", required=False, widget=DateInput)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MembershipGrantForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.none())
    role = forms.ChoiceField(choices=Role.choices)
    starts_on = forms.DateField(required=False, widget=DateInput, help_text="Today if left empty")

    def __init__(self, *args, users=None, roles=None, **kwargs):
        super().__init__(*args, **kwargs)
        if users is not None:
            self.fields["user"].queryset = users
        if roles is not None:
            self.fields["role"].choices = [(r, Role(r).label) for r in roles]


class EndForm(forms.Form):
    ends_on = forms.DateField(required=False, widget=DateInput, help_text="Today if left empty")
    reason = forms.CharField(required=False, max_length=500)


class DelegationGrantForm(forms.Form):
    duty = forms.ChoiceField(choices=Duty.choices)
    starts_on = forms.DateField(required=False, widget=DateInput, help_text="Today if left empty")

    def __init__(self, *args, duties=None, **kwargs):
        super().__init__(*args, **kwargs)
        if duties is not None:
            self.fields["duty"].choices = [(d, Duty(d).label) for d in sorted(duties)]


class AccountCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField()
    password = forms.CharField(
        widget=forms.PasswordInput,
        help_text=(
            "At least 12 characters, not a common password. Give it to the user in person; "
            "they can change it under Change password."
        ),
    )


def same_twice(form: forms.Form, field: str, differ: str) -> dict:
    """A password typed twice must be the same twice (`field` and `field`_again)."""
    data = forms.Form.clean(form)
    if data.get(field) != data.get(f"{field}_again"):
        form.add_error(f"{field}_again", differ)
    return data


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label="Current password", widget=forms.PasswordInput, strip=False, max_length=4096
    )
    new_password = forms.CharField(
        label="New password",
        widget=forms.PasswordInput,
        strip=False,
        max_length=4096,
        help_text="At least 12 characters, not a common password. Your API tokens stop working.",
    )
    new_password_again = forms.CharField(
        label="New password again", widget=forms.PasswordInput, strip=False, max_length=4096
    )

    def clean(self):
        return same_twice(self, "new_password", "The two new passwords differ.")


class AccountActiveForm(forms.Form):
    active = forms.TypedChoiceField(
        choices=[("false", "Disable"), ("true", "Enable")],
        coerce=lambda v: v == "true",
        widget=forms.HiddenInput,
    )
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why (kept in the audit trail)",
    )


class AccountInviteForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(help_text="The invitation, with a one-time link to set a password")


class PasswordResetForm(forms.Form):
    email = forms.EmailField(label="Your email address", max_length=254)


class PasswordSetForm(forms.Form):
    password = forms.CharField(
        label="New password",
        widget=forms.PasswordInput,
        strip=False,
        max_length=4096,
        help_text="At least 12 characters, not a common password.",
    )
    password_again = forms.CharField(
        label="New password again", widget=forms.PasswordInput, strip=False, max_length=4096
    )

    def clean(self):
        return same_twice(self, "password", "The two passwords differ.")


class UnlockForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why (kept in the audit trail)",
    )
