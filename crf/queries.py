"""Data queries: raised by a monitor (or an automatic check) on one field of a response,
answered or corrected at the site, closed or re-opened by the monitor. Every step is in
the query's thread and the ledger."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from audit.reasons import given
from core.channels import Channel
from core.errors import Conflict, TrialError
from core.roles import Role
from lock.guard import refuse_if_locked
from sites.permissions import require_role

from .entry import _raise, response_change
from .models import Query, QueryMessage, QueryStatus, Response

ANSWERERS = {Role.SITE_COORDINATOR, Role.PRINCIPAL_INVESTIGATOR, Role.OUTCOME_ASSESSOR}


def _text(text: str | None, field: str = "text") -> str:
    return given(text, ask="Write the text.", field=field)


@transaction.atomic(durable=True)
def query_raise(*, response: Response, field: str, text: str, actor, channel: Channel) -> Query:
    response = Response.objects.select_related("family__site", "definition").get(pk=response.pk)
    held = require_role(actor, roles={Role.MONITOR}, site=response.family.site)
    refuse_if_locked(family=response.family)
    if field not in dict(response.spec.slots()):
        raise TrialError(f"'{field}' is not a field of {response.definition.title}.", field="field")
    return _raise(
        response, field=field, text=_text(text), actor=actor, channel=channel, actor_role=held
    )


def _locked(query: Query) -> Query:
    return (
        Query.objects.select_for_update(of=("self",), no_key=True)
        .select_related("response", "family", "site")
        .get(pk=query.pk)
    )


def _step(
    query: Query, *, kind: str, text: str, actor, actor_role, channel, event, status: str
) -> Query:
    refuse_if_locked(family=query.family)
    before = query.status
    query.status = status
    query.closed_at = timezone.now() if status == QueryStatus.CLOSED else None
    stamp(query, actor=actor, reason=text).save()
    stamp(QueryMessage(query=query, kind=kind, text=text, author=actor), actor=actor).save()
    record(
        event=event,
        actor=actor,
        channel=channel,
        obj=query,
        site=query.site,
        family=query.family.identifier,
        changes={"status": [before, status], "text": [None, text]},
        reason=text if kind in ("corrected", "reopened") else "",
        conceal=query.response.conceal,
        actor_role=actor_role,
    )
    return query


@transaction.atomic(durable=True)
def query_answer(
    *,
    query: Query,
    text: str,
    actor,
    channel: Channel,
    correction: dict[str, Any] | None = None,
    reason: str = "",
) -> Query:
    """Answer a query at the site; with a correction, change the response's fields through
    the same checks as any change (a reason is needed: the answer's text if none is given)."""
    query = _locked(query)
    held = require_role(actor, roles=ANSWERERS, site=query.site)
    if query.status != QueryStatus.OPEN:
        raise Conflict(
            f"This query is {query.status}: only an open query is answered.", field="status"
        )
    text = _text(text)
    kind = "answered"
    if correction:
        if not isinstance(correction, dict):
            raise TrialError(
                "The correction must be a mapping of field to value.", field="correction"
            )
        saved = response_change(
            response=query.response,
            values=correction,
            actor=actor,
            channel=channel,
            reason=(reason or text).strip(),
            replace=False,
        )
        kind = "corrected" if saved.changed else kind
    return _step(
        query,
        actor_role=held,
        kind=kind,
        text=text,
        actor=actor,
        channel=channel,
        event=EventType.QUERY_ANSWERED,
        status=QueryStatus.ANSWERED,
    )


@transaction.atomic(durable=True)
def query_close(*, query: Query, actor, channel: Channel, text: str = "") -> Query:
    query = _locked(query)
    held = require_role(actor, roles={Role.MONITOR}, site=query.site)
    if query.status == QueryStatus.CLOSED:
        raise Conflict("This query is already closed.", field="status")
    return _step(
        query,
        actor_role=held,
        kind="closed",
        text=(text or "").strip() or "Closed.",
        actor=actor,
        channel=channel,
        event=EventType.QUERY_CLOSED,
        status=QueryStatus.CLOSED,
    )


@transaction.atomic(durable=True)
def query_reopen(*, query: Query, actor, channel: Channel, text: str) -> Query:
    query = _locked(query)
    held = require_role(actor, roles={Role.MONITOR}, site=query.site)
    if query.status == QueryStatus.OPEN:
        raise Conflict("This query is already open.", field="status")
    return _step(
        query,
        actor_role=held,
        kind="reopened",
        text=_text(text),
        actor=actor,
        channel=channel,
        event=EventType.QUERY_REOPENED,
        status=QueryStatus.OPEN,
    )
