"""The append-only ledger of events. Rows are never updated or deleted."""

from django.db import models

from .events import Channel, EventType


class AuditEvent(models.Model):
    # The sequence number is the key: assigned from ChainHead under its row lock, so
    # it has no gaps, unlike an identity column that skips numbers on rollback.
    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=200, blank=True)
    site_id = models.BigIntegerField(null=True, blank=True)
    site_code = models.CharField(max_length=3, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    family = models.CharField(max_length=32, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["site_id", "seq"]),
            models.Index(fields=["actor_id", "seq"]),
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["family", "seq"]),
            models.Index(fields=["event_type", "seq"]),
            models.Index(fields=["at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type} {self.object_type}:{self.object_id}"

    def chained_fields(self) -> dict:
        """The fields the hash covers, in the form they were hashed."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor_username": self.actor_username,
            "actor_role": self.actor_role,
            "site_id": self.site_id,
            "site_code": self.site_code,
            "channel": self.channel,
            "event_type": self.event_type,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "family": self.family,
            "changes": self.changes,
            "reason": self.reason,
        }


class ChainHead(models.Model):
    """One row: the last sequence number and hash. Every append locks it, which is
    what serialises concurrent writers into one unbroken chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="chain_head_single_row")
        ]

    def __str__(self) -> str:
        return f"chain head at #{self.last_seq}"
