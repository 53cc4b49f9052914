"""The demo's forms: the shipped specs loaded, baseline entered for most families before
randomisation, follow-up visits entered for some (others left overdue), a few open
queries, and one signed casebook. All through the services."""

import random
from contextlib import suppress
from datetime import date, timedelta

from django.utils import timezone

from core.channels import Channel
from core.clock import today
from core.errors import TrialError
from crf.entry import form_not_done, response_submit
from crf.loading import forms_load, shipped_spec_files
from crf.models import Response
from crf.queries import query_answer, query_raise
from crf.selectors import current_definitions, schedule_of
from crf.signatures import casebook_sign
from randomisation.models import Allocation
from trial.models import Trial

from .answers import answers_for

CH = Channel.COMMAND


def _fixed(family, form: str, rng: random.Random) -> dict:
    # Now and then an answer withheld for a reason, so that the exports carry missing codes.
    if form == "psi4sf" and family.sequence % 4 == 1:
        return {"item_5": {"missing": "declined"}}
    if form == "service_use" and family.sequence % 4 == 2:
        return {"gp_contacts": {"missing": "unknown"}}
    if form == "core10":
        return {"item_6": 0}  # the risk item: the demo raises no alert unasked
    if form == "care_index":
        if not family.screening.child_born:
            return {"filmed": False, "not_filmed_reason": "unborn"}
        return {"filmed": True, "coder_id": f"C{rng.randrange(10, 40)}"}
    if form == "demographics":
        return {"child_unborn": not family.screening.child_born}
    if form == "legal_status":
        return {"status": family.legal_status, "status_since": family.enrolled_on.isoformat()}
    return {}


def _entered_by(family, form: str, users: dict):
    """The blinded assessor enters what the spec lets them; the coordinator the rest."""
    site = family.site.code.lower()
    assessor = users.get(f"assessor.{site}")
    if assessor and "outcome_assessor" in current_definitions(family.trial)[form].spec.entered_by:
        return assessor
    return users[f"coord.{site}"]


def _enter(family, form: str, visit: str, on: date, users: dict, rng: random.Random) -> bool:
    definition = current_definitions(family.trial)[form]
    actor = _entered_by(family, form, users)
    values = answers_for(definition.spec, on, rng, fixed=_fixed(family, form, rng))
    try:
        response_submit(
            family=family, form=form, visit=visit, values=values, actor=actor, channel=CH
        )
    except TrialError:
        return False  # withdrawn or due to re-consent: refused, as it should be
    return True


def seed_baseline(trial: Trial, users: dict, log) -> None:
    """Load the forms; enter baseline for every family but a few (left to show that an
    incomplete baseline blocks randomisation)."""
    rng = random.Random(7)  # noqa: S311  (made-up answers, the same on every seed)
    loaded = forms_load(trial=trial, paths=shipped_spec_files(), actor=users["manager"], channel=CH)
    baseline = schedule_of(trial).baseline
    entered = 0
    for family in trial.families.select_related("site", "screening", "trial").order_by("id"):
        forms = baseline.forms if family.sequence % 6 else baseline.forms[:3]
        on = min(family.enrolled_on + timedelta(days=3), today())
        entered += sum(_enter(family, f, baseline.key, on, users, rng) for f in forms)
    log(f"Forms: {len(loaded)} form versions loaded; {entered} baseline forms entered.")


def seed_follow_up(trial: Trial, users: dict, log) -> None:
    """Date the demo's allocations a week after each family's baseline, as if the trial had
    run for months (the services date an allocation now), then enter the follow-up visits
    whose windows have opened for two thirds of the families; the rest are overdue."""
    rng = random.Random(11)  # noqa: S311
    day = today()
    entered = 0
    visits = [v for v in schedule_of(trial).visits if not v.before_randomisation]
    missed: set[int] = set()
    for allocation in Allocation.objects.filter(family__trial=trial).select_related(
        "family__site", "family__screening", "family__trial"
    ):
        family = allocation.family
        randomised = min(family.enrolled_on + timedelta(days=10), day)
        when = timezone.make_aware(
            timezone.datetime.combine(randomised, timezone.datetime.min.time())
        )
        when = when + timedelta(hours=11)
        Allocation.objects.filter(pk=allocation.pk).update(randomised_at=when)
        Allocation.history.filter(id=allocation.pk).update(randomised_at=when)
        if family.sequence % 3 == 0:
            continue  # left overdue
        for visit in visits:
            earliest, target, _latest = visit.window(randomised)
            if earliest > day:
                break
            on = min(target + timedelta(days=rng.randrange(-10, 11)), day)
            if family.sequence % 5 == 0 and visit == visits[0]:
                on = min(target + timedelta(days=visit.after + 5), day)  # late: flagged
            forms = list(visit.forms)
            if visit == visits[0] and family.site_id not in missed:
                missed.add(family.site_id)  # one family a site
                forms.remove("care_index")  # the filming visit was missed: marked not done
                _not_done(family, "care_index", visit.key, users)
            entered += sum(_enter(family, f, visit.key, on, users, rng) for f in forms)
    log(f"Forms: {entered} follow-up forms entered.")


def _not_done(family, form: str, visit: str, users: dict) -> None:
    with suppress(TrialError):  # withdrawn: nothing more is expected anyway
        form_not_done(
            family=family,
            form=form,
            visit=visit,
            reason="The family missed the filming visit and it could not be rearranged.",
            actor=_entered_by(family, form, users),
            channel=CH,
        )


def seed_review(trial: Trial, users: dict, log, *, pi_password: str) -> None:
    """A few open queries, one answered, and one signed casebook (at BUC)."""
    monitor = users["monitor"]
    responses = list(
        Response.objects.filter(family__trial=trial, form="core10")
        .select_related("family__site")
        .order_by("id")
    )
    for response in responses[:4]:
        query_raise(
            response=response,
            field="item_4",
            text="Please check item 4 against the paper questionnaire.",
            actor=monitor,
            channel=CH,
        )
    if len(responses) > 4:
        answered = query_raise(
            response=responses[4],
            field="completed_on",
            text="Is this the date the parent completed it, or the date it was entered?",
            actor=monitor,
            channel=CH,
        )
        query_answer(
            query=answered,
            text="The date the parent completed it.",
            actor=users[f"coord.{responses[4].family.site.code.lower()}"],
            channel=CH,
        )
    queried = {r.family_id for r in responses[:5]}
    signed = (
        trial.families.filter(site__code="BUC", allocations__isnull=False)
        .exclude(pk__in=queried)
        .exclude(responses__status="draft")
        .order_by("id")
        .first()
    )
    if signed is not None:
        casebook_sign(
            family=signed,
            actor=users["pi.buc"],
            password=pi_password,
            meaning="reviewed",
            channel=CH,
        )
        log(f"Forms: {len(queried)} queries raised; casebook {signed.identifier} signed.")
