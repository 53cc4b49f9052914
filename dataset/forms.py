import hashlib

from django import forms


class LockForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput, help_text="Your own password, entered again to lock"
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class FreezeSiteForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None, empty_label=None)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites


class PlanForm(forms.Form):
    """The document is read for its SHA-256 only; it is not kept."""

    title = forms.CharField(max_length=200)
    version = forms.CharField(max_length=20)
    document = forms.FileField(help_text="The plan's document: only its SHA-256 is kept")
    final = forms.BooleanField(required=False, label="This is the final plan")

    def clean(self):
        data = super().clean()
        document = data.get("document")
        if document is not None:
            digest = hashlib.sha256()
            for chunk in document.chunks():
                digest.update(chunk)
            data["sha256"] = digest.hexdigest()
        return data


class ExportForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("blinded", "Blinded: no arm, no arm-revealing form")], initial="blinded"
    )
    interim = forms.BooleanField(
        required=False,
        label="Interim snapshot of data not locked (marked so in every file)",
    )
    population = forms.ChoiceField(required=False, choices=[("", "The whole trial")])

    def __init__(self, *args, unblinded: bool, populations, **kwargs):
        super().__init__(*args, **kwargs)
        if unblinded:
            self.fields["kind"].choices = [
                *self.fields["kind"].choices,
                ("unblinded", "Unblinded: with the arms (after the lock and a final plan)"),
            ]
        self.fields["population"].choices = [
            ("", "The whole trial"),
            *((p.key, p.label) for p in populations),
        ]
