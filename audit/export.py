"""The filtered events as CSV, streamed in keyset chunks: constant memory at any size."""

import csv
import io
import json
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from .events import Channel
from .models import AuditEvent
from .selectors import EventFilter, events_visible_to, filter_events
from .services import export_record

COLUMNS = [
    "seq",
    "at_utc",
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
    "prev_hash",
    "hash",
]


def csv_rows(events: QuerySet[AuditEvent], chunk: int = 2000) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flush()
    after = 0
    while True:
        rows = list(events.filter(seq__gt=after).order_by("seq")[:chunk])
        for e in rows:
            writer.writerow(
                [
                    e.seq,
                    e.at.isoformat(timespec="microseconds"),
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
                    e.prev_hash,
                    e.hash,
                ]
            )
        if rows:
            yield flush()
        if len(rows) < chunk:
            return
        after = rows[-1].seq


def csv_response(*, actor, event_filter: EventFilter, channel: Channel) -> StreamingHttpResponse:
    """Record the export (who took which events out), then stream the events it covers."""
    export_record(actor=actor, channel=channel, filters=event_filter.as_dict())
    events = filter_events(events_visible_to(actor), event_filter)
    response = StreamingHttpResponse(csv_rows(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
    return response
