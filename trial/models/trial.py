from django.db import models
from simple_history.models import HistoricalRecords


class Trial(models.Model):
    """A trial, as loaded from its definition file."""

    code = models.CharField(
        max_length=6, unique=True, help_text="Prefix of trial identifiers, e.g. RC"
    )
    short_name = models.CharField(max_length=60)
    name = models.CharField(max_length=300)
    sponsor = models.CharField(max_length=200)
    definition = models.JSONField(default=dict)
    # The file as loaded: configuration is read from it, because PostgreSQL's jsonb does not
    # keep the order of keys (arms, referrers, levels) that the definition gives.
    definition_source = models.TextField(blank=True)
    definition_sha256 = models.CharField(max_length=64)
    loaded_at = models.DateTimeField()
    randomisation_mode = models.CharField(
        max_length=4,
        choices=[("test", "Test (dummy list)"), ("live", "Live")],
        default="test",
        help_text="test until the unblinded statistician puts randomisation live",
    )
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[A-Z]{2,6}$"), name="trial_code_caps"
            ),
        ]

    def __str__(self) -> str:
        return self.short_name
