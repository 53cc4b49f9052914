"""The review of a protocol deviation: the trial manager reads it and records what was
decided. A deviation not reviewed blocks a lock."""

from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from audit.reasons import given
from core.channels import Channel
from core.errors import Conflict
from core.roles import Role
from sites.permissions import require_role

from .models import ProtocolDeviation


@transaction.atomic(durable=True)
def deviation_review(
    *, deviation: ProtocolDeviation, actor, channel: Channel, note: str
) -> ProtocolDeviation:
    deviation = (
        ProtocolDeviation.objects.select_for_update(of=("self",))
        .select_related("family__site", "family__trial")
        .get(pk=deviation.pk)
    )
    held = require_role(actor, roles={Role.TRIAL_MANAGER}, trial=deviation.family.trial)
    if deviation.reviewed_at is not None:
        raise Conflict("This deviation was reviewed already.", field="deviation")
    note = given(note, ask="Say what the review found or decided.", field="note")
    deviation.reviewed_by, deviation.reviewed_at, deviation.review_note = (
        actor,
        timezone.now(),
        note,
    )
    stamp(deviation, actor=actor, reason=note).save()
    record(
        event=EventType.DEVIATION_REVIEWED,
        actor=actor,
        channel=channel,
        obj=deviation,
        site=deviation.family.site,
        family=deviation.family.identifier,
        changes={"reviewed": [None, deviation.get_kind_display()]},
        reason=note,
        actor_role=held,
    )
    return deviation
