from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class AnalysisPlan(models.Model):
    """A version of the statistical analysis plan, identified by its document's SHA-256. An
    unblinded analysis waits for the trial to be locked and a plan recorded as final."""

    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="plans")
    title = models.CharField(max_length=200)
    version = models.CharField(max_length=20)
    sha256 = models.CharField(max_length=64, help_text="of the document file")
    final = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["trial", "-recorded_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["trial", "version"], name="plan_version_once"),
            models.CheckConstraint(
                condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="plan_sha256_hex"
            ),
        ]

    def __str__(self) -> str:
        state = "final" if self.final else "draft"
        return f"{self.title} v{self.version} ({state})"


class Export(models.Model):
    """One export bundle: asked for by a statistician, built by a Celery job that reports
    its progress here, then downloaded. Blinded or unblinded; at a lock, or an interim
    snapshot of data still open (marked so in every file)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="exports")
    blinded = models.BooleanField()
    interim = models.BooleanField(help_text="a snapshot of data not locked")
    lock = models.ForeignKey(
        "lock.DataLock", on_delete=models.PROTECT, null=True, blank=True, related_name="exports"
    )
    plan = models.ForeignKey(
        AnalysisPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="exports"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    step = models.CharField(max_length=200, blank=True, help_text="what the job is doing")
    done_steps = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    bundle_id = models.CharField(max_length=80, blank=True, help_text="MANIFEST.json's id")
    file_name = models.CharField(max_length=200, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="of the zip file")
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    ledger_seq = models.BigIntegerField(
        null=True, blank=True, help_text="the data's ledger position"
    )
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(interim=True) | models.Q(lock__isnull=False),
                name="export_at_a_lock_or_interim",
            ),
            models.CheckConstraint(
                condition=models.Q(blinded=True)
                | models.Q(interim=True)
                | models.Q(plan__isnull=False),
                name="unblinded_export_has_a_plan",
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.describe()})"

    def describe(self) -> str:
        kind = "blinded" if self.blinded else "unblinded"
        state = "interim, not locked" if self.interim else f"lock v{self.lock.version}"
        return f"{kind}, {state}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.done_steps / self.total_steps) if self.total_steps else 0
