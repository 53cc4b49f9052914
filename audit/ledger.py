"""The one function every service calls to write the ledger, in its own transaction."""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from core.channels import Channel

from .chain import link_hash
from .events import Concealed, EditAfter, EventType
from .models import AuditEvent, ChainHead
from .sealing import (
    BATCHED,
    insert_waiting,
    locked_head,
    seal_after_commit,
    sealing_mode,
)


def _number(text: str) -> float | int:
    """A JSON number with a fraction or an exponent, as PostgreSQL's jsonb gives it back: a
    whole number of 16 digits or more, which Python writes with an exponent (1e+16), comes
    back written out in full (10000000000000000), so it is kept as that whole number; jsonb
    has no negative zero, so -0.0 is kept as 0.0. Every other float comes back as written."""
    number = float(text)
    if number == 0:
        return 0.0
    return int(number) if number.is_integer() and abs(number) >= 1e16 else number


def _jsonable(value: Any) -> Any:
    # Store exactly what is hashed, in the form the database gives back: dates, decimals and
    # UUIDs become strings once, here, and numbers take jsonb's form.
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder), parse_float=_number)


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields' values, foreign keys by id, ready to diff."""
    values = {}
    for name in fields:
        field = obj._meta.get_field(name)
        values[name] = getattr(obj, field.attname)
    return _jsonable(values)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for each field whose value changed."""
    before, after = _jsonable(dict(before)), _jsonable(dict(after))
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def record(
    *,
    event: EventType,
    actor: Any,
    channel: Channel,
    obj: models.Model | None = None,
    site: Any = None,
    family: str = "",
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
    actor_username: str = "",
    edit_after: EditAfter | str = "",
    conceal: Concealed | str = "",
    actor_role: str | Iterable[str] = "",
) -> AuditEvent:
    """Append one event to the ledger. Must run inside the caller's transaction, so that
    the change and its event commit or roll back together. Sealed inline, the event is in
    the chain when this returns; sealed in batches, once the sealer has run. `actor_role`
    is the role (or roles) the service checked the actor acts in; `conceal` says what of
    the event would reveal an arm (an `arm` among the changes always does)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the service's transaction")
    if not conceal and "arm" in (changes or {}):
        conceal = Concealed.ARM

    actor_id = getattr(actor, "pk", None)
    username = actor_username or (getattr(actor, "get_username", lambda: "")() if actor else "")
    # Everything that does not depend on the chain is prepared before taking its lock:
    # the lock is held until the caller commits, so what runs under it is what serialises.
    entry = AuditEvent(
        actor_id=actor_id,
        actor_username=username,
        actor_role=actor_role if isinstance(actor_role, str) else ",".join(sorted(actor_role)),
        site_id=getattr(site, "pk", None),
        site_code=getattr(site, "code", "") or "",
        channel=Channel(channel).value,
        event_type=EventType(event).value,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        family=family,
        changes=_jsonable(dict(changes or {})),
        reason=reason,
        edit_after=EditAfter(edit_after).value if edit_after else "",
        conceal=Concealed(conceal).value if conceal else "",
    )
    if sealing_mode() == BATCHED:
        # No lock: the event is queued in the caller's transaction and sealed into the chain
        # by the sealer once committed (audit/sealing.py), which the commit nudges.
        entry.at = timezone.now()
        insert_waiting(entry)
        seal_after_commit()
        return entry
    # Inline: the head row lock serialises appends. On PostgreSQL SELECT ... FOR UPDATE
    # makes a concurrent writer wait here until this transaction commits, so each event
    # sees the committed previous hash and the chain has no gaps. SQLite takes its database
    # write lock at the start of the (IMMEDIATE) transaction, which serialises the same way.
    head = locked_head()
    # Time is taken under the lock too, so that event times never run backwards along the chain.
    entry.at = timezone.now()
    entry.seq = entry.pos = head.last_seq + 1
    entry.prev_hash = head.last_hash
    entry.hash = link_hash(entry.prev_hash, entry.chained_fields())
    entry.save(force_insert=True)
    ChainHead.objects.filter(pk=1).update(last_seq=entry.pos, last_hash=entry.hash)
    return entry
