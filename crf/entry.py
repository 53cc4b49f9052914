"""Entering, changing and verifying responses. Every path (page, API, query correction,
import) goes through these, with the same checks."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.events import Concealed, EditAfter, EventType
from audit.history import stamp
from audit.ledger import record
from audit.reasons import given, require_reason
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, TrialError
from core.roles import Duty, Role
from lock.guard import held_at_all, refuse_if_held
from outbox.services import enqueue
from sites.permissions import require_role, require_role_and_duty
from trial.collection import collection_status
from trial.config import config_of
from trial.deviations import arm_learned_by, deviation_detected
from trial.models import Family, ProtocolDeviation
from trial.schedule import Visit

from .models import (
    FormDefinition,
    NotDone,
    Query,
    QueryMessage,
    Response,
    ResponseStatus,
    Signature,
)
from .preconditions import is_outcome_form, refuse_unblinded_assessor
from .scoring import alerts as alert_keys
from .scoring import scores as score_results
from .selectors import DONE, randomised_on, schedule_of, versions_of
from .tasks import send_alert
from .validation import Checked, check


@dataclass(frozen=True)
class Saved:
    """A response as written, and what followed from it."""

    response: Response
    changed: bool
    new_alerts: tuple[str, ...] = ()
    out_of_window: bool = False


def _child_born(family: Family) -> date | None:
    screening = family.screening
    return screening.child_date_of_birth if screening.child_born else None


def _checked(
    family: Family, definition: FormDefinition, values: dict, *, complete: bool
) -> Checked:
    if not isinstance(values, dict):
        raise TrialError("The answers must be a mapping of field to value.", field="values")
    spec = definition.spec
    result = check(spec, values, child_born=_child_born(family))
    dated = result.values.get(spec.dated_by) if spec.dated_by else None
    if dated and date.fromisoformat(dated) > today():
        result.errors.setdefault(spec.dated_by, "cannot be in the future")
    if result.errors:
        names = ", ".join(sorted(result.errors))
        raise TrialError(f"Some answers need correcting: {names}.", fields=result.errors)
    if complete and result.incomplete:
        raise TrialError(
            f"Answer every required question to complete the form ({len(result.incomplete)} "
            "left), or save it as a draft.",
            fields=dict.fromkeys(result.incomplete, "is required"),
        )
    return result


def _may_collect(family: Family, definition: FormDefinition) -> None:
    status = collection_status(family)
    for source in definition.spec.sources:
        if not status.may(source):
            raise Conflict(
                f"{definition.title} cannot be entered for {family.identifier}: "
                f"{status.reasons.get(source, source)}.",
                field="form",
            )


def _may_enter(
    actor, family: Family, definition: FormDefinition, *, learned_arm: bool | None = None
) -> set[str]:
    """The roles the actor enters the form in (checked, with the duty delegated)."""
    held = require_role_and_duty(
        actor,
        roles=set(definition.spec.entered_by),
        site=family.site,
        duty=Duty.ENTER_DATA,
        on=today(),
    )
    refuse_unblinded_assessor(actor, family, definition, learned=learned_arm)
    return held


@dataclass(frozen=True)
class Slot:
    """What a family already has at one visit's form, read with the form's definition in
    one query after the family's lock is granted, so that two entries of the same form
    cannot both find it free."""

    entered: int  # responses (any-time forms are numbered on)
    not_done: bool
    learned_arm: bool  # the actor learned the family's arm (outcome forms only)
    held: tuple[bool, bool]  # any open lock of the trial, any open freeze of the family


def _definition_and_slot(
    family: Family, form: str, visit: str, actor
) -> tuple[FormDefinition | None, Slot]:
    """The form's current definition (None: the trial has no such form), with what the
    family has at its slot."""
    here = {"family_id": family.pk, "visit": visit, "form": form}
    entered = Response.objects.filter(**here).order_by().values("family_id").annotate(n=Count("pk"))
    definition = (
        versions_of(family.trial, form)
        .annotate(
            slot_entered=Coalesce(Subquery(entered.values("n")), 0),
            slot_not_done=Exists(NotDone.objects.filter(**here)),
            slot_arm_learned=Exists(arm_learned_by(actor, family)),
            **held_at_all(family),
        )
        .first()
    )
    if definition is None:
        return None, Slot(0, False, False, (False, False))
    return definition, Slot(
        definition.slot_entered,
        definition.slot_not_done,
        definition.slot_arm_learned and is_outcome_form(definition),
        (definition.any_lock, definition.any_freeze),
    )


def _scored(definition: FormDefinition, checked: Checked) -> tuple[dict, list[str]]:
    results = score_results(definition.spec, checked.values)
    scores = {
        key: {
            "value": str(r.value) if r.value is not None else None,
            "answered": r.answered,
            "missing": r.missing,
            "prorated": r.prorated,
            "reason": r.reason,
        }
        for key, r in results.items()
    }
    return scores, alert_keys(definition.spec, checked.values)


def _dated_on(definition: FormDefinition, checked: Checked) -> date | None:
    key = definition.spec.dated_by
    return date.fromisoformat(checked.values[key]) if key in checked.values else None


def _window_query(response: Response, visit: Visit | None, actor, channel: Channel) -> bool:
    """An automatic query when the visit date falls outside its window (accepted, flagged)."""
    if visit is None or response.dated_on is None or visit.before_randomisation:
        return False
    when = randomised_on(response.family)
    if visit.in_window(response.dated_on, when) is not False:
        return False
    field = response.spec.dated_by
    if response.queries.filter(field=field, automatic=True).exclude(status="closed").exists():
        return True
    earliest, _, latest = visit.window(when)
    text = (
        f"Dated {response.dated_on:%d %b %Y}, outside the {visit.label} window "
        f"({earliest:%d %b %Y} to {latest:%d %b %Y}). Confirm the date, or correct it."
    )
    _raise(response, field=field, text=text, actor=None, channel=channel, automatic=True)
    return True


def _deviations_found(
    response: Response, visit: Visit | None, late: bool, actor, channel: Channel
) -> None:
    """The deviations a saved form shows, each recorded once per response: a completed form
    dated outside its visit window, and an assessor saying they learned the family's arm."""
    family, definition = response.family, response.definition
    Kind, Source = ProtocolDeviation.Kind, ProtocolDeviation.Source
    if late and visit is not None and response.status in DONE:
        earliest, _, latest = visit.window(randomised_on(family))
        # A form that reveals the arm is not named where blinded readers see the deviation.
        what = "A form" if definition.reveals_arm else definition.title
        deviation_detected(
            family=family,
            kind=Kind.OUT_OF_WINDOW,
            severity=ProtocolDeviation.Severity.MINOR,
            occurred_on=response.dated_on,
            description=f"{what} at {visit.label} dated {response.dated_on:%d %b %Y}, outside "
            f"its window ({earliest:%d %b %Y} to {latest:%d %b %Y}).",
            source=Source.OUT_OF_WINDOW,
            source_key=f"response:{response.pk}",
            actor=actor,
            channel=channel,
            response=response,
        )
    blinding = config_of(family.trial).blinding
    if blinding and response.form == blinding.form and response.values.get(blinding.field) is True:
        where = visit.label if visit is not None else "an any-time form"
        deviation_detected(
            family=family,
            kind=Kind.ASSESSOR_UNBLINDED,
            severity=ProtocolDeviation.Severity.MAJOR,
            occurred_on=response.dated_on or today(),
            description=f"{actor.get_full_name() or actor.get_username()} said on "
            f"{definition.title} ({where}) that they were told, or learned, the family's arm. "
            "Another blinded assessor enters its outcome forms from now on.",
            source=Source.ASSESSOR_GUESS,
            source_key=f"response:{response.pk}",
            actor=actor,
            channel=channel,
            person=actor,
            response=response,
        )


def _raise(
    response: Response, *, field: str, text: str, actor, channel, automatic=False, actor_role=""
) -> Query:
    query = Query(
        response=response,
        family=response.family,
        site=response.family.site,
        field=field,
        text=text,
        automatic=automatic,
        raised_by=actor,
    )
    stamp(query, actor=actor).save()
    stamp(QueryMessage(query=query, kind="raised", text=text, author=actor), actor=actor).save()
    record(
        event=EventType.QUERY_RAISED,
        actor=actor,
        actor_username="" if actor else "automatic check",
        channel=channel,
        obj=query,
        site=response.family.site,
        family=response.family.identifier,
        changes={"field": [None, field], "text": [None, text], "response": [None, response.pk]},
        conceal=response.conceal,
        actor_role=actor_role,
    )
    return query


def _alerted(
    response: Response, keys: list[str], before: list[str], actor, channel, actor_role
) -> tuple:
    new = tuple(k for k in keys if k not in before)
    if new:
        messages = {a.key: a.message for a in response.spec.alerts}
        record(
            event=EventType.RESPONSE_ALERT,
            actor=actor,
            channel=channel,
            obj=response,
            site=response.family.site,
            family=response.family.identifier,
            changes={"alerts": [before, keys]},
            reason="; ".join(messages.get(k, k) for k in new),
            conceal=response.conceal,
            actor_role=actor_role,
        )

        response_id = response.pk
        enqueue(send_alert, response_id, list(new))
    return new


def _slot(
    family: Family, form: str, visit: str, actor
) -> tuple[FormDefinition, Visit | None, Slot]:
    """The form's definition and scheduled visit, checked, and what the family has there."""
    schedule = schedule_of(family.trial)
    definition, taken = _definition_and_slot(family, form, visit, actor)
    if definition is None:
        raise TrialError(f"There is no form '{form}' in this trial.", field="form")
    if not visit:
        if form not in schedule.any_time:
            raise TrialError(f"{definition.title} is entered at a visit; name it.", field="visit")
        return definition, None, taken
    scheduled = schedule.visit(visit)
    if scheduled is None:
        raise TrialError(f"There is no visit '{visit}' in this trial.", field="visit")
    if form not in scheduled.forms:
        raise TrialError(
            f"{definition.title} is not a form of the {scheduled.label} visit.", field="form"
        )
    if not scheduled.before_randomisation and randomised_on(family) is None:
        raise Conflict(
            f"{family.identifier} is not randomised: only baseline forms can be entered.",
            field="visit",
        )
    return definition, scheduled, taken


def _reported_as_safety_event(family: Family, form: str, safety_event: bool) -> None:
    safety = config_of(family.trial).monitoring.safety
    if safety is not None and form == safety.form and not safety_event:
        raise Conflict(
            "A safety event is reported from the family's page (Report a safety event): that "
            "starts its 24-hour clock and tells the PI, the chief investigator and the trial "
            "manager.",
            field="form",
        )


def response_enter(
    *,
    family: Family,
    form: str,
    visit: str,
    values: dict[str, Any],
    actor,
    channel: Channel,
    complete: bool = True,
    safety_event: bool = False,
    within: QuerySet[Family] | None = None,
) -> Saved:
    """Enter a form for a family at a visit (or an any-time form), inside the caller's
    transaction: saved as a draft, or as complete when every check passes. Errors name each
    field; nothing is written. The trial's safety form is entered only as the report of a
    safety event (`safety_event`, by the safety workflow), which starts its clock.
    `within`: the families the caller may reach, the family read through them with its
    lock; one outside them raises Family.DoesNotExist."""
    # The family row alone (of=self: without it PostgreSQL also locks the joined site and
    # trial rows, serialising a whole site's entry), and NO KEY UPDATE: a concurrent
    # transaction that holds the ledger's head and inserts a row referring to this family
    # needs KEY SHARE on it, which FOR UPDATE would refuse: a deadlock. Its consents,
    # withdrawals and allocations, read once after the lock is granted, answer every check
    # below and the response's window.
    family = (
        (Family.objects if within is None else within)
        .select_for_update(of=("self",), no_key=True)
        .select_related("site", "trial", "screening")
        .prefetch_related("consents", "withdrawals", "allocations")
        .get(pk=family.pk)
    )
    definition, scheduled, taken = _slot(family, form, visit, actor)
    held = _may_enter(actor, family, definition, learned_arm=taken.learned_arm)
    refuse_if_held(family=family, form=form, held=taken.held)
    _reported_as_safety_event(family, form, safety_event)
    if visit and taken.not_done:
        raise Conflict(f"{definition.title} at {scheduled.label} is marked not done.", field="form")
    _may_collect(family, definition)
    checked = _checked(family, definition, values, complete=complete)
    number = 1
    if scheduled is None:
        number = 1 + taken.entered
    elif taken.entered:
        raise Conflict(
            f"{definition.title} at {scheduled.label} is already entered: change it instead.",
            field="form",
        )
    scores, alerts = _scored(definition, checked)
    response = Response(
        family=family,
        definition=definition,
        form=form,
        visit=visit,
        number=number,
        status=ResponseStatus.COMPLETE if complete else ResponseStatus.DRAFT,
        values=checked.values,
        missing=checked.missing,
        scores=scores,
        alerts=alerts,
        dated_on=_dated_on(definition, checked),
        entered_by=actor,
        updated_by=actor,
    )
    stamp(response, actor=actor).save()
    record(
        event=EventType.RESPONSE_ENTERED,
        actor=actor,
        channel=channel,
        obj=response,
        site=family.site,
        family=family.identifier,
        changes={
            "form": [None, f"{form} v{definition.version}"],
            "visit": [None, visit or f"any time #{number}"],
            "status": [None, response.status],
            **{f"values.{k}": [None, v] for k, v in sorted(checked.values.items())},
            **{f"missing.{k}": [None, v] for k, v in sorted(checked.missing.items())},
        },
        conceal=response.conceal,
        actor_role=held,
    )
    new = _alerted(response, alerts, [], actor, channel, held)
    late = _window_query(response, scheduled, actor, channel)
    _deviations_found(response, scheduled, late, actor, channel)
    return Saved(response, True, new, late)


# Entering a form as a transaction of its own: what pages, the API and imports call. The
# safety workflow calls `response_enter` inside its own, with the event it starts.
response_submit = transaction.atomic(durable=True)(response_enter)


@transaction.atomic(durable=True)
def form_not_done(
    *, family: Family, form: str, visit: str, reason: str, actor, channel: Channel
) -> NotDone:
    """Mark a scheduled form that will not be entered as not done, with the reason: it is
    no longer expected. Whoever may enter the form marks it; an entered form cannot be."""
    family = (
        Family.objects.select_for_update(of=("self",), no_key=True)
        .select_related("site", "trial")
        .get(pk=family.pk)
    )
    if not visit:
        raise TrialError(
            "Forms entered at any time are never expected: name a visit.", field="visit"
        )
    definition, scheduled, taken = _slot(family, form, visit, actor)
    held = _may_enter(actor, family, definition, learned_arm=taken.learned_arm)
    refuse_if_held(family=family, form=form, held=taken.held)
    reason = given(reason, ask="Say why the form is not done.")
    if taken.entered:
        raise Conflict(
            f"{definition.title} at {scheduled.label} is entered: it cannot be marked not done.",
            field="form",
        )
    if taken.not_done:
        raise Conflict(
            f"{definition.title} at {scheduled.label} is marked not done already.", field="form"
        )
    marked = NotDone(family=family, visit=visit, form=form, reason=reason, recorded_by=actor)
    stamp(marked, actor=actor, reason=reason).save()
    record(
        event=EventType.FORM_NOT_DONE,
        actor=actor,
        channel=channel,
        obj=marked,
        site=family.site,
        family=family.identifier,
        changes={"form": [None, form], "visit": [None, visit]},
        reason=reason,
        conceal=Concealed.EVENT if definition.reveals_arm else "",
        actor_role=held,
    )
    return marked


def _covering_signatures(response: Response) -> list[Signature]:
    return [
        s
        for s in Signature.objects.select_for_update(of=("self",), no_key=True)
        .filter(family=response.family_id, invalidated_at__isnull=True)
        .order_by("pk")
        if any(entry[0] == response.pk for entry in s.content)
    ]


def response_change(
    *,
    response: Response,
    values: dict[str, Any],
    actor,
    channel: Channel,
    reason: str = "",
    complete: bool = True,
    revision: int | None = None,
    replace: bool = True,
    standing: set[str] | None = None,
) -> Saved:
    """Change a response (inside the caller's transaction). A completed, verified or signed
    response needs a reason, clears its verification, and invalidates the signatures that
    cover it. `replace=False` changes only the fields given (a query's correction).
    `standing` is the roles a caller has checked the actor acts in, for a change that is
    theirs by role rather than by a delegated duty (a PI's assessment of a safety event)."""
    response = (
        Response.objects.select_for_update(of=("self",), no_key=True)
        .select_related("definition", "family__site", "family__trial", "family__screening")
        .get(pk=response.pk)
    )
    family, definition = response.family, response.definition
    if revision is not None and revision != response.revision:
        raise Conflict(
            f"This form was changed by someone else (now revision {response.revision}); "
            "reload it and make your change again.",
            field="revision",
        )
    held = standing if standing is not None else _may_enter(actor, family, definition)
    refuse_if_held(family=family, form=response.form, response_id=response.pk)
    was_done = response.status in DONE
    if not was_done:
        # Finishing a draft is still collecting; correcting a completed form is not, so a
        # later withdrawal or re-consent does not freeze a transcription error in place.
        _may_collect(family, definition)
    if not replace:
        merged: dict[str, Any] = {**response.values}
        merged.update({k: {"missing": v} for k, v in response.missing.items()})
        merged.update(values)
        values = merged
    checked = _checked(family, definition, values, complete=complete or was_done)
    before = {**response.values, **{k: {"missing": v} for k, v in response.missing.items()}}
    after = {**checked.values, **{k: {"missing": v} for k, v in checked.missing.items()}}
    changes = {
        f"values.{k}": [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }
    status = ResponseStatus.COMPLETE if (complete or was_done) else ResponseStatus.DRAFT
    if not changes and status == response.status:
        return Saved(response, False)
    signatures = _covering_signatures(response)
    after_state = (
        EditAfter.SIGNED
        if signatures
        else EditAfter.VERIFIED
        if response.status == ResponseStatus.VERIFIED
        else EditAfter.COMPLETED
        if was_done
        else None
    )
    reason = require_reason(
        reason, after=after_state, state=f"{definition.title} is {response.status}"
    )
    if response.status != status:
        changes["status"] = [response.status, status]
    scores, alerts = _scored(definition, checked)
    old_alerts = list(response.alerts)
    response.values, response.missing = checked.values, checked.missing
    response.scores, response.alerts = scores, alerts
    response.dated_on = _dated_on(definition, checked)
    response.status, response.verified_by, response.verified_at = status, None, None
    response.revision += 1
    response.updated_by = actor
    stamp(response, actor=actor, reason=reason).save()
    record(
        event=EventType.RESPONSE_CHANGED,
        actor=actor,
        channel=channel,
        obj=response,
        site=family.site,
        family=family.identifier,
        changes=changes,
        reason=reason,
        edit_after=after_state or "",
        conceal=response.conceal,
        actor_role=held,
    )
    now = timezone.now()
    for signature in signatures:
        signature.invalidated_at = now
        signature.invalidated_reason = (
            f"{definition.title} ({response.visit or 'any time'}) changed by "
            f"{actor.get_username()}: {reason}"
        )
        signature.invalidation_reveals_arm = definition.reveals_arm
        stamp(signature, actor=actor, reason=reason).save()
        record(
            event=EventType.SIGNATURE_INVALIDATED,
            actor=actor,
            channel=channel,
            obj=signature,
            site=family.site,
            family=family.identifier,
            changes={"invalidated_at": [None, now.isoformat()]},
            reason=signature.invalidated_reason,
            conceal=response.conceal,
            actor_role=held,
        )
    new = _alerted(response, alerts, old_alerts, actor, channel, held)
    scheduled = schedule_of(family.trial).visit(response.visit)
    late = _window_query(response, scheduled, actor, channel)
    _deviations_found(response, scheduled, late, actor, channel)
    return Saved(response, True, new, late)


@transaction.atomic(durable=True)
def response_update(
    *,
    response: Response,
    values: dict[str, Any],
    actor,
    channel: Channel,
    reason: str = "",
    complete: bool = True,
    revision: int | None = None,
    replace: bool = True,
) -> Saved:
    return response_change(
        response=response,
        values=values,
        actor=actor,
        channel=channel,
        reason=reason,
        complete=complete,
        revision=revision,
        replace=replace,
    )


@transaction.atomic(durable=True)
def response_verify(*, response: Response, actor, channel: Channel) -> Response:
    """A monitor's source-data verification of a complete response with no open query."""
    response = (
        Response.objects.select_for_update(of=("self",), no_key=True)
        .select_related("family__site")
        .get(pk=response.pk)
    )
    family = response.family
    held = require_role(actor, roles={Role.MONITOR}, site=family.site)
    refuse_if_held(family=family, form=response.form, response_id=response.pk)
    if response.status == ResponseStatus.DRAFT:
        raise Conflict("A draft cannot be verified: it must be complete.", field="status")
    if response.status == ResponseStatus.VERIFIED:
        raise Conflict("This form is already verified.", field="status")
    if response.queries.exclude(status="closed").exists():
        raise Conflict("Close this form's queries before verifying it.", field="queries")
    response.status = ResponseStatus.VERIFIED
    response.verified_by, response.verified_at = actor, timezone.now()
    stamp(response, actor=actor).save()
    record(
        event=EventType.RESPONSE_VERIFIED,
        actor=actor,
        channel=channel,
        obj=response,
        site=family.site,
        family=family.identifier,
        changes={"status": ["complete", "verified"], "revision": [None, response.revision]},
        conceal=response.conceal,
        actor_role=held,
    )
    return response
