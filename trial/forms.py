"""Page forms for screening, enrolment, consent and withdrawal. The choices come from the
trial's definition; the rules live in the services."""

from django import forms

from sites.forms import DateInput, PersonChoiceField

from .config import TrialConfig
from .models import ConsentRecord

YES_NO = [("yes", "Yes"), ("no", "No")]


def yes_no(label: str, required: bool = True) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO,
        widget=forms.RadioSelect,
        coerce=lambda v: v == "yes",
        required=required,
    )


class ScreeningForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None)
    referral_date = forms.DateField(widget=DateInput)
    referrer_type = forms.ChoiceField()
    child_born = yes_no("Is the child born?")
    child_date_of_birth = forms.DateField(
        required=False, widget=DateInput, help_text="if born: the age is worked out from it"
    )
    expected_due_date = forms.DateField(
        required=False, widget=DateInput, help_text="if unborn: the gestation is worked out from it"
    )
    interpreter_needed = forms.BooleanField(required=False)
    interpreter_language = forms.CharField(required=False, max_length=60)

    def __init__(self, *args, config: TrialConfig, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["referrer_type"].choices = [("", "Choose"), *config.referrers.items()]
        self.criteria = []
        for criterion in config.eligibility.criteria:
            name = f"criterion_{criterion.key}"
            self.fields[name] = yes_no(criterion.text)
            self.criteria.append(name)

    def service_fields(self) -> dict:
        d = self.cleaned_data
        born = d["child_born"]
        return {
            "referral_date": d["referral_date"],
            "referrer_type": d["referrer_type"],
            "child_date_of_birth": d["child_date_of_birth"] if born else None,
            "expected_due_date": None if born else d["expected_due_date"],
            "answers": {n.removeprefix("criterion_"): d[n] for n in self.criteria},
            "interpreter_needed": d["interpreter_needed"],
            "interpreter_language": d["interpreter_language"],
        }

    @staticmethod
    def form_field(service_field: str) -> str:
        return service_field.replace("answers.", "criterion_")


class ScreeningCloseForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("declined", "Declined"), ("other", "Other reason")])
    reason = forms.ChoiceField()
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, config: TrialConfig, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [
            ("Declined", list(config.decline_reasons.items())),
            ("Other", list(config.other_reasons.items())),
        ]


class ConsentFieldsMixin:
    """The consent part of a form: version, date, who took it, method, interpreter, items."""

    def add_consent_fields(self, config: TrialConfig, versions, takers, prefix: str = "") -> None:
        f = self.fields
        f[f"{prefix}version"] = forms.ModelChoiceField(queryset=versions, label="Consent version")
        f[f"{prefix}consent_date"] = forms.DateField(widget=DateInput, label="Date of consent")
        f[f"{prefix}taken_by"] = PersonChoiceField(queryset=takers, label="Consent taken by")
        f[f"{prefix}method"] = forms.ChoiceField(choices=ConsentRecord.Method.choices)
        f[f"{prefix}interpreter_used"] = forms.BooleanField(required=False)
        f[f"{prefix}interpreter_language"] = forms.CharField(required=False, max_length=60)
        self.items = []
        for item in config.consent_items:
            name = f"{prefix}item_{item.key}"
            f[name] = yes_no(item.label)
            self.items.append((name, item.key))

    def consent_values(self, prefix: str = "") -> dict:
        d = self.cleaned_data
        return {
            "version": d[f"{prefix}version"],
            "consent_date": d[f"{prefix}consent_date"],
            "taken_by": d[f"{prefix}taken_by"],
            "method": d[f"{prefix}method"],
            "interpreter_used": d[f"{prefix}interpreter_used"],
            "interpreter_language": d[f"{prefix}interpreter_language"],
            # Only the items this version asks: the others are not part of its consent.
            "answers": {
                key: d[name] for name, key in self.items if key in d[f"{prefix}version"].items
            },
        }


class EnrolForm(ConsentFieldsMixin, forms.Form):
    legal_status = forms.ChoiceField()
    child_given_name = forms.CharField(
        required=False, max_length=100, help_text="may be blank for an unborn child"
    )
    child_family_name = forms.CharField(max_length=100)
    child_nhs_number = forms.CharField(required=False, max_length=12)
    p1_given_name = forms.CharField(max_length=100, label="Parent 1: given name")
    p1_family_name = forms.CharField(max_length=100, label="Parent 1: family name")
    p1_date_of_birth = forms.DateField(widget=DateInput, label="Parent 1: date of birth")
    p1_nhs_number = forms.CharField(required=False, max_length=12, label="Parent 1: NHS number")
    p1_relationship = forms.CharField(
        required=False, max_length=40, label="Parent 1: relationship to the child"
    )
    p1_parental_responsibility = forms.BooleanField(
        required=False, label="Parent 1 has parental responsibility"
    )
    add_parent_2 = forms.BooleanField(required=False, label="Add a second parent")
    p2_given_name = forms.CharField(required=False, max_length=100, label="Parent 2: given name")
    p2_family_name = forms.CharField(required=False, max_length=100, label="Parent 2: family name")
    p2_date_of_birth = forms.DateField(
        required=False, widget=DateInput, label="Parent 2: date of birth"
    )
    p2_nhs_number = forms.CharField(required=False, max_length=12, label="Parent 2: NHS number")
    p2_relationship = forms.CharField(
        required=False, max_length=40, label="Parent 2: relationship to the child"
    )
    p2_parental_responsibility = forms.BooleanField(
        required=False, label="Parent 2 has parental responsibility"
    )
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    phone = forms.CharField(required=False, max_length=40)
    social_worker_name = forms.CharField(required=False, max_length=100)
    social_worker_contact = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, config: TrialConfig, versions, takers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["legal_status"].choices = [("", "Choose"), *config.legal_statuses.items()]
        self.add_consent_fields(config, versions, takers)

    @staticmethod
    def form_field(service_field: str) -> str:
        """parents.0.date_of_birth → p1_date_of_birth; consents → version; ..."""
        parts = service_field.split(".")
        if parts[0] == "parents" and len(parts) == 3:
            return f"p{int(parts[1]) + 1}_{parts[2]}"
        if parts[0] == "child" and len(parts) == 2:
            return f"child_{parts[1]}"
        if parts[0] == "contact" and len(parts) == 2:
            return parts[1]
        if parts[0] == "answers" and len(parts) == 2:
            return f"item_{parts[1]}"
        return {"consents": "version"}.get(service_field, service_field)


class ConsentForm(ConsentFieldsMixin, forms.Form):
    parent = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args, config: TrialConfig, versions, takers, parents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [(p.number, f"Parent {p.number}") for p in parents]
        self.add_consent_fields(config, versions, takers)

    @staticmethod
    def form_field(service_field: str) -> str:
        return service_field.replace("answers.", "item_")


class WithdrawalForm(forms.Form):
    level = forms.ChoiceField()
    withdrawal_date = forms.DateField(widget=DateInput)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, config: TrialConfig, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = [(w.key, w.label) for w in config.withdrawal_levels]


class ConsentVersionForm(forms.Form):
    version = forms.CharField(max_length=30)
    ethics_approval_date = forms.DateField(widget=DateInput)
    items = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    reconsent_required = forms.BooleanField(
        required=False, help_text="families must re-consent before more data"
    )

    def __init__(self, *args, config: TrialConfig, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = [(i.key, i.label) for i in config.consent_items]
        self.fields["items"].initial = [i.key for i in config.consent_items]


class VersionActivateForm(forms.Form):
    version = forms.ModelChoiceField(queryset=None)
    site = forms.ModelChoiceField(queryset=None)
    effective_from = forms.DateField(widget=DateInput)

    def __init__(self, *args, versions, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = versions
        self.fields["site"].queryset = sites
