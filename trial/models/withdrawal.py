from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class Withdrawal(models.Model):
    """A family's withdrawal at one of the trial's levels. Nothing is ever deleted: the
    levels recorded so far decide what may still be collected."""

    family = models.ForeignKey("trial.Family", on_delete=models.PROTECT, related_name="withdrawals")
    level = models.CharField(max_length=40)
    withdrawal_date = models.DateField()
    reason = models.TextField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["family", "withdrawal_date", "id"]

    def __str__(self) -> str:
        return f"{self.family} withdrew ({self.level}) on {self.withdrawal_date}"
