"""A background task to run, written in the same transaction as the change that asks for it."""

from django.db import models


class OutboxMessage(models.Model):
    """One Celery task call. Pending while `dispatched_at` is null: the broker has not taken it
    yet (it was down, or the process died between the commit and the publish)."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            # The sweep reads only the pending rows, oldest first.
            models.Index(
                fields=["created_at"],
                name="outbox_pending_idx",
                condition=models.Q(dispatched_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        state = "dispatched" if self.dispatched_at else "pending"
        return f"{self.task}{tuple(self.args)} ({state})"

    @property
    def task_id(self) -> str:
        """The Celery task id: the same however often the message is published, so a log or
        a worker sees one task."""
        return f"outbox-{self.pk}"
