from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class ConsentVersion(models.Model):
    """A consent form version approved by the research ethics committee."""

    trial = models.ForeignKey(
        "trial.Trial", on_delete=models.PROTECT, related_name="consent_versions"
    )
    version = models.CharField(max_length=30)
    ethics_approval_date = models.DateField()
    items = models.JSONField(help_text="the trial's consent item keys this version asks")
    reconsent_required = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["trial", "ethics_approval_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["trial", "version"], name="consent_version_unique"),
        ]

    def __str__(self) -> str:
        return f"consent form v{self.version}"


class ConsentVersionSite(models.Model):
    """From which date a version is in use at a site."""

    version = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, related_name="sites")
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["version", "site"], name="version_once_per_site"),
        ]

    def __str__(self) -> str:
        return f"{self.version} at {self.site_id} from {self.effective_from}"


class ConsentRecord(models.Model):
    """One parent's consent on one version, with an answer per item."""

    class Method(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        REMOTE = "remote", "Remote"

    family = models.ForeignKey("trial.Family", on_delete=models.PROTECT, related_name="consents")
    participant = models.ForeignKey(
        "trial.Participant", on_delete=models.PROTECT, related_name="consents"
    )
    version = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, related_name="+")
    consent_date = models.DateField()
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    method = models.CharField(max_length=10, choices=Method.choices)
    interpreter_used = models.BooleanField(default=False)
    interpreter_language = models.CharField(max_length=60, blank=True)
    answers = models.JSONField(help_text="item key → yes/no")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["family", "consent_date", "id"]

    def __str__(self) -> str:
        return f"{self.participant} consent v{self.version.version} {self.consent_date}"
