"""The append-only ledger of events. Rows are never updated or deleted."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from core.channels import Channel

from .chain import HASHED_WHEN_SET, ROW_FIELDS
from .events import Concealed, EditAfter, EventType

# Every field of an event except its place and its two hashes: what the chain protects,
# named once, in the order the verifier reads them (audit/chain.py).
CHAINED_FIELDS = ROW_FIELDS[1:-3]


# Fields added to events later: hashed only when set, so that every event recorded before
# they existed keeps the hash it was chained with.
CHAINED_WHEN_SET = HASHED_WHEN_SET


def chained_fields(values: dict) -> dict:
    """An event's values in the form they are hashed: the time as ISO 8601 in UTC."""
    hashed = {k: v for k, v in values.items() if k not in CHAINED_WHEN_SET or v}
    return {**hashed, "at": values["at"].isoformat(timespec="microseconds")}


class AuditEvent(models.Model):
    # The event's number, assigned as it is written. Sealed inline, it is also its place in
    # the chain (`pos`), with no gaps. Sealed in batches (PostgreSQL), it comes from a
    # database sequence that may skip numbers on rollback: the chain's order and its
    # no-gap rule are then those of `pos`, given when the event is sealed.
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
    # The place in the chain and the two hashes: empty while the event waits to be sealed
    # (batched sealing), set once by the sealer, and never changed after.
    pos = models.BigIntegerField(null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["seq"]
        indexes = [
            # The sealer's queue: only events waiting to be sealed are in it.
            models.Index(
                fields=["seq"], condition=models.Q(pos__isnull=True), name="audit_event_unsealed"
            ),
            models.Index(fields=["site_id", "seq"]),
            # A site's last sealed event (sites.kept). Only sealed events are in it: an
            # event enters it once, when sealed, not also as it is written.
            models.Index(
                fields=["site_id", "pos"],
                condition=models.Q(pos__isnull=False),
                name="audit_event_site_sealed",
            ),
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
    """One row: the place in the chain (`pos`) and hash of the last sealed event. Whoever
    seals locks it (the sealer, or an inline append), which is what keeps the chain one
    unbroken line; writers that only queue an event for sealing never touch it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    # The last sealed event's `pos` (equal to its `seq` when sealed inline).
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="chain_head_single_row")
        ]

    def __str__(self) -> str:
        return f"chain head at #{self.last_seq}"


class SealedBatch(models.Model):
    """A checkpoint: one run of the sealer, the chain positions it sealed and the hash it
    ended on. Batches tile the chain from #1 to the head with no gap and no overlap, so a
    run of events chained on without the sealer, or a batch record removed, shows."""

    first_pos = models.BigIntegerField(unique=True)
    last_pos = models.BigIntegerField(unique=True)
    last_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        ordering = ["first_pos"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_pos__gte=1)
                & models.Q(last_pos__gte=models.F("first_pos")),
                name="sealed_batch_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"sealed #{self.first_pos} to #{self.last_pos}"


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
