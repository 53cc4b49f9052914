"""The filtered events as CSV, streamed in keyset chunks: constant memory at any size."""

import csv
import io
import json
from collections.abc import Iterator

from django.db.models import QuerySet

from .models import AuditEvent

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
