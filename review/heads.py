"""The ledger's head published outside the database: each night a line in a file the operator
ships elsewhere and an email to the trial managers. Whoever rewrites the whole chain (every
hash recomputed after a change) can make it verify on its own, but not match a head that
was published before the change: `audit_verify --head-file` checks every one."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.events import EventType
from audit.ledger import record
from audit.models import AuditEvent
from audit.sealing import sealed_head
from core.channels import Channel
from core.errors import TrialError
from core.roles import Role
from sites.models import Membership
from sites.notifications import notify


@dataclass(frozen=True)
class PublishedHead:
    seq: int
    hash: str
    at: str
    source: str  # file:line where it was read

    @property
    def anchor(self) -> tuple[int, str]:
        return (self.seq, self.hash)


def head_file_for(when, directory: Path | None = None) -> Path:
    """One append-only file a day: the operator ships each day's file elsewhere."""
    return Path(directory or settings.LEDGER_HEAD_DIR) / f"ledger-head-{when:%Y-%m-%d}.jsonl"


@transaction.atomic(durable=True)
def ledger_head_publish(
    *, actor, channel: Channel, directory: Path | None = None
) -> AuditEvent | None:
    """Append the ledger's head (last event and its hash) to the day's file, email it to every
    trial manager and record that it was published. Returns the event, or None for an empty
    ledger (nothing to anchor)."""
    last_seq, last_hash = sealed_head()
    if last_seq == 0:
        return None
    now = timezone.now()
    line = {
        "seq": last_seq,
        "hash": last_hash,
        "at": now.isoformat(timespec="seconds"),
        "database": str(connection.settings_dict["NAME"]),
    }
    path = head_file_for(now, directory)
    # Written before the commit, not deferred: the head read here was already committed, so
    # the line is a true anchor even if this transaction rolls back; and a file that cannot
    # be written fails the task before anything claims the head was published.
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    who = "" if actor else f"system:{channel}"
    event = record(
        event=EventType.LEDGER_HEAD_PUBLISHED,
        actor=actor,
        actor_username=who,
        channel=channel,
        changes={
            "head_seq": [None, last_seq],
            "head_hash": [None, last_hash],
            "file": [None, path.name],
        },
    )
    subject = f"Audit ledger head, {now:%d %B %Y}: event #{last_seq}"
    body = (
        f"The audit ledger's head at {line['at']} (UTC):\n\n"
        f"    event #{last_seq}\n    hash {last_hash}\n\n"
        "Keep this email. It lets anyone show later that the ledger up to this event has not "
        "been rewritten, even by someone able to recompute every hash in the database:\n\n"
        f"    manage.py audit_verify --expect-head {last_seq}:{last_hash}\n\n"
        f"The same line was added to {path.name}, which the operator ships outside the server."
    )
    notify(recipients=trial_manager_emails(), subject=subject, body=body, site=None, actor=actor)
    return event


def trial_manager_emails() -> list[str]:
    return sorted(
        set(
            Membership.objects.filter(role=Role.TRIAL_MANAGER, ends_on__isnull=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def published_heads(paths: list[Path]) -> list[PublishedHead]:
    """Every head in the given files (a folder means each ledger-head file in it), in order.
    A line that is not a published head raises TrialError naming the file and line."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("ledger-head-*.jsonl")))
        elif path.is_file():
            files.append(path)
        else:
            raise TrialError(f"{path}: no such file or folder", field="head_file")
    heads = []
    for path in files:
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not text.strip():
                continue
            heads.append(_parse(text, f"{path}:{number}"))
    return heads


def _parse(text: str, where: str) -> PublishedHead:
    try:
        data = json.loads(text)
        seq, digest = data["seq"], data["hash"]
    except (ValueError, TypeError, KeyError) as exc:
        raise TrialError(f"{where}: not a published head ({exc})", field="head_file") from exc
    valid_hash = isinstance(digest, str) and len(digest) == 64
    if not (isinstance(seq, int) and seq > 0 and valid_hash):
        raise TrialError(
            f"{where}: a head needs a positive seq and a 64-character hash", field="head_file"
        )
    return PublishedHead(seq=seq, hash=digest.lower(), at=str(data.get("at", "")), source=where)
