"""The audit trail as a blinded viewer may see it. Where they are blinded is the policy's
answer (randomisation.concealment); here an event that would reveal an arm is shown with
that part withheld, marked "arm concealed", so that the sequence stays whole and reviewable:
never silently dropped, and never shown whole."""

import copy
from collections.abc import Sequence

from django.db.models import Q, QuerySet

from audit.events import Concealed
from audit.models import AuditEvent
from randomisation.concealment import Blindness

CONCEALED = "arm concealed"


def searchable(events: QuerySet[AuditEvent], blindness: Blindness) -> QuerySet[AuditEvent]:
    """Leaves out the events whose concealed part a filter would match on (a family, an
    object, a changed field): otherwise a search would say what the redaction withholds."""
    if not blindness:
        return events
    return events.exclude(blindness.q() & Q(conceal=Concealed.EVENT))


def _withheld(event: AuditEvent) -> AuditEvent:
    shown = copy.copy(event)
    shown.withheld = True
    if event.conceal == Concealed.ARM:
        shown.changes = {
            k: ([None if v[0] is None else CONCEALED, CONCEALED] if k == "arm" else v)
            for k, v in event.changes.items()
        }
    else:
        shown.family, shown.object_id, shown.changes, shown.reason = "", "", {}, ""
    # The hash is over the withheld values too: with the rest of the event in view, the two
    # arms' hashes could be computed and compared, so neither hash is shown.
    shown.hash = CONCEALED if event.hash else ""
    return shown


def shaped_for(events: Sequence[AuditEvent], blindness: Blindness) -> list[AuditEvent]:
    """The events as this viewer may see them, in the order given. Costs one query for the
    events just before them (whose hash each event's prev_hash repeats), and none if the
    viewer is blinded nowhere."""
    for event in events:
        event.withheld = False
    if not blindness:
        return list(events)

    def hidden(e: AuditEvent) -> bool:
        return bool(e.conceal) and blindness.covers(e.site_id)

    # Chain neighbours are by place (`pos`): an event waiting to be sealed has none yet,
    # and no prev_hash to conceal.
    hidden_places = {e.pos for e in events if e.pos is not None and hidden(e)}
    hidden_events = {e.seq for e in events if hidden(e)}
    shown_places = {e.pos for e in events if e.pos is not None}
    before = {e.pos - 1 for e in events if e.pos is not None} - shown_places
    if before:
        hidden_places |= {
            pos
            for pos, site_id, conceal in AuditEvent.objects.filter(pos__in=sorted(before))
            .exclude(conceal="")
            .values_list("pos", "site_id", "conceal")
            if blindness.covers(site_id)
        }
    out = []
    for event in events:
        shown = _withheld(event) if event.seq in hidden_events else event
        if event.pos is not None and event.pos - 1 in hidden_places:
            shown = shown if shown is not event else copy.copy(event)
            shown.prev_hash = CONCEALED
        out.append(shown)
    return out
