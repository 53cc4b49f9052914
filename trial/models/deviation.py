from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

# The UK rule: a serious breach is reported to the sponsor (and by it to the ethics committee)
# within 7 calendar days of becoming aware of it; weekends count.
BREACH_REPORT_WITHIN = timedelta(days=7)


class ProtocolDeviation(models.Model):
    class Kind(models.TextChoices):
        ELIGIBILITY = "eligibility", "Eligibility"
        CONSENT = "consent", "Consent"
        STRATIFICATION_ERROR = "stratification_error", "Stratification error"
        OUT_OF_WINDOW = "out_of_window", "Out of window"
        ASSESSOR_UNBLINDED = "assessor_unblinded", "Assessor unblinded"
        CONTAMINATION = "contamination", "Contamination"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        MINOR = "minor", "Minor"
        MAJOR = "major", "Major"

    class Source(models.TextChoices):
        MANUAL = "manual", "Recorded by hand"
        FACTOR_CORRECTION = "factor_correction", "Factor correction"
        OUT_OF_WINDOW = "out_of_window", "Form dated outside its window"
        ASSESSOR_GUESS = "assessor_guess", "Assessor's guess form"
        COORDINATOR_REPORT = "coordinator_report", "Reported by the site"
        EMERGENCY_UNBLINDING = "emergency_unblinding", "Emergency unblinding"

    # What these say can tell a family's arm (a usual-care family given the intervention, an
    # assessor told the arm): hidden from readers blinded at the family's site.
    REVEALS_ARM = (Kind.CONTAMINATION, Kind.ASSESSOR_UNBLINDED)

    family = models.ForeignKey("trial.Family", on_delete=models.PROTECT, related_name="deviations")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    occurred_on = models.DateField()
    description = models.TextField()
    corrective_action = models.TextField(blank=True)
    preventive_action = models.TextField(blank=True)
    # Where it came from: by hand, or found by the system (once per source_key).
    source = models.CharField(max_length=30, choices=Source.choices, default=Source.MANUAL)
    source_key = models.CharField(max_length=80, blank=True)
    # The person it is about: the assessor who learned the family's arm.
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    response = models.ForeignKey(
        "crf.Response", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    possible_serious_breach = models.BooleanField(default=False)
    breach_flagged_at = models.DateTimeField(null=True, blank=True)
    breach_due_at = models.DateTimeField(null=True, blank=True)
    breach_reported_on = models.DateField(null=True, blank=True)
    breach_reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The day the last reminder went: one a day at most.
    breach_reminded_on = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["family", "occurred_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["family", "kind", "source_key"],
                condition=~Q(source_key=""),
                name="deviation_found_once",
            ),
            models.CheckConstraint(
                condition=Q(possible_serious_breach=False) | Q(breach_due_at__isnull=False),
                name="deviation_breach_has_due_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.family} {self.get_kind_display()} ({self.severity})"

    @property
    def reveals_arm(self) -> bool:
        return self.kind in self.REVEALS_ARM

    def breach_overdue(self, now) -> bool:
        return bool(
            self.possible_serious_breach
            and self.breach_reported_on is None
            and self.breach_due_at is not None
            and now > self.breach_due_at
        )
