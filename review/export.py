"""The filtered events as CSV, streamed in keyset chunks: constant memory at any size, and
shaped for the viewer (a blinded viewer's rows carry "arm concealed"). Each row reads as the
page does (the person, the record and each change in words) and keeps every field as the
ledger holds it, so that the hash chain can be checked from the file."""

import json
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from audit.models import AuditEvent
from core.channels import Channel
from core.csvfile import csv_download, csv_lines
from randomisation.concealment import Blindness, blindness_of

from .concealment import CONCEALED, shaped_for
from .selectors import EventFilter, events_described, events_visible_to, filter_events
from .services import export_record

COLUMNS = [
    "seq",
    "at_utc",
    "actor_name",
    "event",
    "object_name",
    "changes_in_words",
    "actor_id",
    "actor_username",
    "actor_role",
    "site_code",
    "channel",
    "event_type",
    "object_type",
    "object_id",
    "family",
    "changes",
    "reason",
    "edit_after",
    "conceal",
    "withheld",
    "pos",
    "prev_hash",
    "hash",
]


def event_rows(
    events: QuerySet[AuditEvent], blindness: Blindness, chunk: int = 2000
) -> Iterator[list]:
    after = 0
    while True:
        rows = list(events.filter(seq__gt=after).order_by("seq")[:chunk])
        for e in events_described(shaped_for(rows, blindness)):
            yield [
                e.seq,
                e.at.isoformat(timespec="microseconds"),
                e.described.actor,
                e.get_event_type_display(),
                e.described.subject,
                e.described.changes_text,
                e.actor_id or "",
                e.actor_username,
                e.actor_role,
                e.site_code,
                e.channel,
                e.event_type,
                e.object_type,
                e.object_id,
                e.family,
                json.dumps(e.changes, ensure_ascii=False, sort_keys=True),
                e.reason,
                e.edit_after,
                e.conceal,
                CONCEALED if e.withheld else "",
                e.pos if e.pos is not None else "",
                e.prev_hash,
                e.hash,
            ]
        if len(rows) < chunk:
            return
        after = rows[-1].seq


def csv_response(*, actor, event_filter: EventFilter, channel: Channel) -> StreamingHttpResponse:
    """Record the export (who took which events out), then stream the events it covers."""
    export_record(actor=actor, channel=channel, filters=event_filter.as_dict())
    blindness = blindness_of(actor)
    events = filter_events(events_visible_to(actor), event_filter, blindness=blindness)
    return csv_download(
        csv_lines(COLUMNS, event_rows(events, blindness), chunk=2000), filename="audit-events.csv"
    )
