"""The records a page of audit events is about, and the records their changes refer to,
loaded in one query per kind of record on the page (and one for the trials' definitions
when a name needs their words), never one per event. review.naming words them."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.text import capfirst

from audit.models import AuditEvent

from .kinds import ACCOUNT, KINDS, Context
from .naming import Described, Words, roles_worded


def _model(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def noun_of(label: str) -> str:
    """What people call a kind of record: "Response" for `crf.Response`."""
    if label in KINDS:
        return KINDS[label].noun
    model = _model(label)
    return capfirst(str(model._meta.verbose_name)) if model else "Record"


def kind_named(text: str) -> str:
    """A kind of record as given in a filter: its noun ("response", any case) or its label
    (`crf.Response`), as the label; anything else as given."""
    nouns = {kind.noun.lower(): label for label, kind in KINDS.items()}
    return nouns.get(text.strip().lower(), text.strip())


def _key(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _wanted(events: Sequence[AuditEvent]) -> dict[str, set[int]]:
    """The records to load, by kind: the events' own, those their changes refer to, and
    the actors' accounts."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for e in events:
        kind = KINDS.get(e.object_type)
        if kind and e.object_id.isdigit():
            wanted[e.object_type].add(int(e.object_id))
        if e.actor_id:
            wanted[ACCOUNT].add(e.actor_id)
        for key, label in (kind.refs if kind else {}).items():
            pair = (e.changes or {}).get(key)
            for value in pair if isinstance(pair, list) else [pair]:
                if _key(value) is not None:
                    wanted[label].add(value)
    return wanted


def _words(label: str, obj: Any, ctx: Context) -> Words:
    kind = KINDS.get(label)
    if kind is None:
        return Words(model=_model(label))
    refs = {key: ctx.names[ref] for key, ref in kind.refs.items()}
    if obj is None:
        return Words(model=_model(label), labels=kind.labels, codes=refs)
    return Words(
        model=type(obj),
        spec=kind.spec(obj),
        labels=kind.labels,
        codes={**refs, **kind.codes(obj, ctx)},
    )


def described(events: Sequence[AuditEvent]) -> list[Described]:
    """Each event worded, in the order given: what it is about, who did it, what changed."""
    ctx = Context()
    loaded: dict[str, dict[str, Any]] = {}
    for label, ids in _wanted(events).items():
        kind = KINDS[label]
        loaded[label] = {str(obj.pk): obj for obj in kind.fetch(ids, ctx)}
        ctx.names[label].update({pk: kind.name(obj, ctx) for pk, obj in loaded[label].items()})
    out = []
    for e in events:
        noun = noun_of(e.object_type) if e.object_type else ""
        obj = loaded.get(e.object_type, {}).get(e.object_id)
        if obj is not None:
            subject = f"{noun}: {ctx.names[e.object_type][e.object_id]}"
        else:
            subject = f"{noun} #{e.object_id}" if noun and e.object_id else noun
        words = _words(e.object_type, obj, ctx) if e.object_type else Words()
        out.append(
            Described(
                subject=subject,
                ref=f"{e.object_type} {e.object_id}".strip(),
                actor=ctx.names[ACCOUNT].get(str(e.actor_id), "") or e.actor_username,
                role=roles_worded(e.actor_role),
                changes=words.changes(e.changes),
            )
        )
    return out
