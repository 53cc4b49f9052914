from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords


class Freeze(models.Model):
    """Data stopped from changing by the data manager until released with a reason."""

    class Scope(models.TextChoices):
        RESPONSE = "response", "One form"
        CASEBOOK = "casebook", "A family's casebook"
        SITE = "site", "A whole site"

    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="freezes")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="freezes")
    family = models.ForeignKey(
        "trial.Family", on_delete=models.PROTECT, null=True, blank=True, related_name="freezes"
    )
    response = models.ForeignKey(
        "crf.Response", on_delete=models.PROTECT, null=True, blank=True, related_name="freezes"
    )
    reason = models.TextField()
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    frozen_at = models.DateTimeField(default=timezone.now)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-frozen_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope="site", family__isnull=True, response__isnull=True)
                    | Q(scope="casebook", family__isnull=False, response__isnull=True)
                    | Q(scope="response", family__isnull=False, response__isnull=False)
                ),
                name="freeze_names_what_its_scope_holds",
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True, released_by__isnull=True)
                | Q(released_at__isnull=False, released_by__isnull=False),
                name="freeze_released_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"freeze {self.pk} of {self.describe()}"

    def describe(self) -> str:
        if self.scope == self.Scope.SITE:
            return f"site {self.site.code}"
        if self.scope == self.Scope.CASEBOOK:
            return f"the casebook of {self.family.identifier}"
        visit = self.response.visit or "any time"
        return f"{self.response.form} ({visit}) of {self.family.identifier}"

    @property
    def is_open(self) -> bool:
        return self.released_at is None


class DataLock(models.Model):
    """The trial's data, or one analysis population's forms, locked by a statistician after
    a readiness report; unlocked only by two people. Re-locking starts a new version."""

    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="locks")
    population = models.CharField(
        max_length=40, blank=True, help_text="an analysis population's key; blank: the trial"
    )
    forms = models.JSONField(
        default=list, help_text="the forms it holds; empty: every form (read by the triggers)"
    )
    version = models.PositiveIntegerField()
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    locked_at = models.DateTimeField()
    ledger_seq = models.BigIntegerField(help_text="the ledger's last event when it was locked")
    ledger_head = models.CharField(max_length=64, help_text="that event's hash")
    unlock_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unlock_requested_at = models.DateTimeField(null=True, blank=True)
    unlock_reason = models.TextField(blank=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unlocked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["trial", "population", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["trial", "population", "version"], name="lock_version_once"
            ),
            models.CheckConstraint(
                condition=Q(unlocked_at__isnull=True)
                | (
                    Q(unlock_requested_by__isnull=False, unlocked_by__isnull=False)
                    & ~Q(unlock_requested_by=models.F("unlocked_by"))
                ),
                name="lock_unlocked_by_two_people",
            ),
        ]

    def __str__(self) -> str:
        held = f" ({self.population})" if self.population else ""
        return f"lock v{self.version} of {self.trial.code}{held}"

    @property
    def is_open(self) -> bool:
        return self.unlocked_at is None

    def holds(self, form: str) -> bool:
        """Whether a change to this form is refused ("": a change to no one form, which only
        a lock of the whole trial holds)."""
        return not self.forms or (bool(form) and form in self.forms)
