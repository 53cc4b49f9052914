from dataclasses import fields

from django import forms

from audit.events import EventType
from core.errors import TrialError
from sites.forms import DateInput
from trial.lookup import family_identifier_typed

from .selectors import EventFilter
from .subjects import kind_named


class EventFilterForm(forms.Form):
    """The monitor's filters, for the review page and the API alike."""

    site = forms.ModelChoiceField(queryset=None, required=False, empty_label="All your sites")
    family = forms.CharField(
        required=False,
        max_length=32,
        help_text="trial identifier with its check character, e.g. RC-BUC-0007-K",
    )
    actor = forms.CharField(required=False, max_length=150, label="User", help_text="username")
    event_type = forms.ChoiceField(required=False, choices=[("", "Any"), *EventType.choices])
    object_type = forms.CharField(
        required=False,
        max_length=100,
        label="Kind of record",
        help_text="for example Response, Family or Account",
    )
    object_id = forms.CharField(required=False, max_length=64, label="Record number")
    field = forms.CharField(required=False, max_length=100, help_text="events that changed it")
    date_from = forms.DateField(required=False, widget=DateInput, label="From")
    date_to = forms.DateField(required=False, widget=DateInput, label="To")
    edits_after_only = forms.BooleanField(
        required=False, label="Only edits after completion or verification"
    )

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites

    def clean_family(self) -> str:
        text = self.cleaned_data.get("family", "")
        if not text.strip():
            return ""
        try:
            return family_identifier_typed(text, field="family")
        except TrialError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_object_type(self) -> str:
        return kind_named(self.cleaned_data.get("object_type", ""))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def to_filter(self) -> EventFilter:
        kept = {f.name for f in fields(EventFilter)}
        data = {k: v for k, v in self.cleaned_data.items() if k in kept and v not in (None, "")}
        if "site" in data:
            data["site"] = data["site"].pk
        return EventFilter(**data)


class ReviewFilterForm(EventFilterForm):
    """The review page's filters: the monitor's own events still to review besides."""

    to_review = forms.BooleanField(
        required=False,
        label="Only events you have not signed off",
        help_text="oldest first",
    )

    @property
    def narrowed(self) -> bool:
        """Whether a filter other than the site (and what waits) hides some of its events."""
        return bool(set(self.to_filter().as_dict()) - {"site"})


class SignoffForm(forms.Form):
    site = forms.IntegerField(widget=forms.HiddenInput)
    to_review = forms.BooleanField(required=False, widget=forms.HiddenInput)
    first_seq = forms.IntegerField(min_value=1, label="From event #")
    last_seq = forms.IntegerField(min_value=1, label="To event #")
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
