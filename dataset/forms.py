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
