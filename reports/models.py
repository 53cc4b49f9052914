from django.conf import settings
from django.db import models


class DmcReport(models.Model):
    """One report for the data monitoring committee: asked for by the trial manager or a
    statistician, built as a PDF by a Celery job that reports its progress here, kept on the
    server and recorded in the ledger with its SHA-256. The open part is pooled over the
    arms; the closed part (the open part followed by the arms compared) is the unblinded
    statistician's alone."""

    class Part(models.TextChoices):
        OPEN = "open", "Open report"
        CLOSED = "closed", "Closed report"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    trial = models.ForeignKey("trial.Trial", on_delete=models.PROTECT, related_name="dmc_reports")
    part = models.CharField(max_length=6, choices=Part.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    step = models.CharField(max_length=200, blank=True, help_text="what the job is doing")
    done_steps = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    data_as_of = models.DateField(help_text="the day whose data the report shows")
    file_name = models.CharField(max_length=200, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="of the PDF file")
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
                condition=models.Q(part__in=["open", "closed"]), name="dmc_report_part_known"
            ),
            models.CheckConstraint(
                condition=models.Q(done_steps__lte=models.F("total_steps")),
                name="dmc_report_steps_within_total",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="done")
                | (
                    models.Q(sha256__regex=r"^[0-9a-f]{64}$")
                    & ~models.Q(file_name="")
                    & models.Q(size__isnull=False)
                ),
                name="dmc_report_done_has_its_file",
            ),
        ]

    def __str__(self) -> str:
        return f"DMC report {self.pk} ({self.describe()})"

    def describe(self) -> str:
        return f"{self.get_part_display().lower()}, data as of {self.data_as_of:%d %b %Y}"

    @property
    def closed(self) -> bool:
        return self.part == self.Part.CLOSED

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.done_steps / self.total_steps) if self.total_steps else 0
