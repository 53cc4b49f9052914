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
