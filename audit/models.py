"""The append-only ledger of events. Rows are never updated or deleted."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from core.channels import Channel

from .events import Concealed, EditAfter, EventType

# Every field of an event except its two hashes: what the chain protects.
CHAINED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_username",
    "actor_role",
    "site_id",
    "site_code",
    "channel",
    "event_type",
    "object_type",
    "object_id",
    "family",
    "changes",
    "reason",
    "edit_after",
)


# Fields added to events later: hashed only when set, so that every event recorded before
# they existed keeps the hash it was chained with.
CHAINED_WHEN_SET = ("conceal",)


def chained_fields(values: dict) -> dict:
    """An event's values in the form they are hashed: the time as ISO 8601 in UTC."""
    hashed = {k: v for k, v in values.items() if k not in CHAINED_WHEN_SET or v}
    return {**hashed, "at": values["at"].isoformat(timespec="microseconds")}


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
    # Set when the change came after the record was completed, verified or signed: the
    # monitor's review highlights these.
    edit_after = models.CharField(max_length=10, choices=EditAfter.choices, blank=True)
    # Set when the event would reveal a family's arm (chained when set).
    conceal = models.CharField(max_length=5, choices=Concealed.choices, blank=True, db_default="")
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
        names = (*CHAINED_FIELDS, *CHAINED_WHEN_SET)
        return chained_fields({name: getattr(self, name) for name in names})


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


class ReviewSignoff(models.Model):
    """A monitor's statement that they reviewed a range of a site's events."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="+")
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    note = models.TextField(blank=True)
    signed_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-signed_at"]
        indexes = [models.Index(fields=["site", "last_seq"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_seq__gte=1)
                & models.Q(last_seq__gte=models.F("first_seq")),
                name="signoff_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site.code} #{self.first_seq} to #{self.last_seq} reviewed by {self.reviewer}"
