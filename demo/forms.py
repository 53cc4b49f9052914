"""The demo's forms: the shipped specs loaded, baseline entered before randomisation, and
the follow-up visits whose windows have opened: most entered in their window, some dated
out of it (flagged by an automatic query), some left overdue, some marked not done, none
after a family's withdrawal stops them, and the primary outcome of families lost to
follow-up marked not done. All through the services."""

import random
from contextlib import suppress
from datetime import date, timedelta

from django.utils import timezone

from core.channels import Channel
from core.clock import today
from core.errors import TrialError
from crf.entry import form_not_done, response_submit
from crf.loading import forms_load, shipped_spec_files
from crf.selectors import current_definitions, schedule_of
from randomisation.concealment import allocations_shown_to
from randomisation.models import Allocation
from trial.config import config_of
from trial.models import Trial

from .answers import answers_for
from .families import coordinator_of
from .fates import LOST, Randomised, Withdrawing, lost_to_follow_up, withdrawals_of

CH = Channel.COMMAND
ASSESSOR_OF = {"BUC": "assessor.buc", "OXF": "assessor.oxf", "SWI": "assessor.oxf"}
BASELINE_AFTER = 3  # days from enrolment to the baseline visit


def _fixed(family, form: str, rng: random.Random) -> dict:
    # Now and then an answer withheld for a reason, so that the exports carry missing codes.
    if form == "psi4sf" and family.sequence % 4 == 1:
        return {"item_5": {"missing": "declined"}}
    if form == "service_use" and family.sequence % 4 == 2:
        return {"gp_contacts": {"missing": "unknown"}}
    if form == "core10":
        return {"item_6": 0}  # the risk item: the demo raises no alert unasked
    if form == "assessor_guess":
        return {"unblinded": False}  # the one assessor told an arm is in deviations.py
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
    assessor = users.get(ASSESSOR_OF.get(family.site.code, ""))
    if assessor and "outcome_assessor" in current_definitions(family.trial)[form].spec.entered_by:
        return assessor
    return users[coordinator_of(family.site.code)]


def enter_form(
    family,
    form: str,
    visit: str,
    on: date,
    users: dict,
    rng: random.Random,
    fixed: dict | None = None,
) -> bool:
    definition = current_definitions(family.trial)[form]
    actor = _entered_by(family, form, users)
    fixed = {**_fixed(family, form, rng), **(fixed or {})}
    values = answers_for(definition.spec, on, rng, fixed=fixed)
    try:
        response_submit(
            family=family, form=form, visit=visit, values=values, actor=actor, channel=CH
        )
    except TrialError:
        return False  # withdrawn or due to re-consent: refused, as it should be
    return True


def baseline_left(family, on: date) -> bool:
    """Whether the family's baseline is still incomplete: just enrolled, or (now and then)
    stuck, to show that an incomplete baseline blocks randomisation."""
    return family.sequence % 9 == 0 or family.enrolled_on > on - timedelta(days=14)


def seed_baseline(trial: Trial, users: dict, log) -> None:
    """Load the forms; enter baseline for every family, in full where it is complete."""
    rng = random.Random(7)  # noqa: S311  (made-up answers, the same on every seed)
    loaded = forms_load(trial=trial, paths=shipped_spec_files(), actor=users["manager"], channel=CH)
    baseline = schedule_of(trial).baseline
    entered = 0
    for family in trial.families.select_related("site", "screening", "trial").order_by("id"):
        forms = baseline.forms[:3] if baseline_left(family, today()) else baseline.forms
        on = min(family.enrolled_on + timedelta(days=BASELINE_AFTER), today())
        entered += sum(enter_form(family, f, baseline.key, on, users, rng) for f in forms)
    log(f"Forms: {len(loaded)} form versions loaded; {entered} baseline forms entered.")


def randomised_families(trial: Trial, users: dict) -> list[tuple[Randomised, object]]:
    """The randomised families, each with its arm as the unblinded statistician sees it."""
    allocations = allocations_shown_to(
        users["stats.unblind"],
        # The mode read afresh: the trial object may predate going live.
        Allocation.objects.filter(
            family__trial=trial,
            mode=Trial.objects.values_list("randomisation_mode", flat=True).get(pk=trial.pk),
        ),
    ).select_related("family__site", "family__screening", "family__trial")
    return [
        (
            Randomised(
                family_id=a.family_id,
                sequence=a.family.sequence,
                shown_arm=a.shown_arm,
                on=timezone.localdate(a.randomised_at),
            ),
            a.family,
        )
        for a in allocations.order_by("randomised_at", "id")
    ]


def seed_follow_up(trial: Trial, users: dict, log) -> dict[int, Withdrawing]:
    """Enter the follow-up visits that have fallen due; answer with the withdrawals that
    stopped some of them (recorded afterwards, on their dates)."""
    rng = random.Random(11)  # noqa: S311
    day = today()
    config = config_of(trial)
    receipt = config.reporting.receipt
    families = randomised_families(trial, users)
    treated = _treated(receipt)
    withdrawals = withdrawals_of([r for r, _ in families], day, treated)
    stops = {w.key: set(w.stops) for w in config.withdrawal_levels}
    definitions = current_definitions(trial)
    visits = [v for v in schedule_of(trial).visits if not v.before_randomisation]
    counts = {"entered": 0, "late": 0, "not done": 0}
    missed: set[int] = set()
    for randomised, family in families:
        withdrawing = withdrawals.get(family.pk)
        lost = lost_to_follow_up(randomised)
        for n, visit in enumerate(visits):
            earliest, target, latest = visit.window(randomised.on)
            if earliest > day:
                break
            if latest >= day and (family.sequence % 2 or target > day):
                continue  # open, and not yet seen
            if lost and n > 0:
                if latest < day and "primary_outcome" in visit.forms:
                    _not_done(family, "primary_outcome", visit.key, users, LOST)
                    counts["not done"] += 1
                continue
            if latest < day and family.sequence % 7 == 3 and n == 0:
                continue  # missed and never marked: overdue
            on = min(target + timedelta(days=rng.randrange(-10, 11)), day)
            if latest < day and (family.sequence + n) % 5 == 0:
                on = min(latest + timedelta(days=rng.randrange(3, 21)), day)  # late: flagged
                counts["late"] += 1
            forms = list(visit.forms)
            if n == 0 and family.site_id not in missed:
                missed.add(family.site_id)  # one family a site
                forms.remove("care_index")  # the filming visit was missed: marked not done
                _not_done(family, "care_index", visit.key, users, FILMING_MISSED)
                counts["not done"] += 1
            if n == 0 and family.sequence % 8 == 5 and "psoc" in forms:
                forms.remove("psoc")
                _not_done(family, "psoc", visit.key, users, OUT_OF_TIME)
                counts["not done"] += 1
            for form in forms:
                sources = set(definitions[form].spec.sources)
                if withdrawing and on >= withdrawing.on and stops[withdrawing.level] & sources:
                    continue
                fixed = follow_up_answers(definitions[form], randomised, receipt, rng)
                counts["entered"] += enter_form(family, form, visit.key, on, users, rng, fixed)
    log(
        f"Forms: {counts['entered']} follow-up forms entered ({counts['late']} visits out of "
        f"window), {counts['not done']} marked not done."
    )
    return withdrawals


FILMING_MISSED = "The family missed the filming visit and it could not be rearranged."
OUT_OF_TIME = "The parent ran out of time at the visit and did not want to finish it later."


def follow_up_answers(definition, family: Randomised, receipt, rng: random.Random) -> dict:
    """Sessions attended as the arm makes likely (a few ReConnect families never start);
    the child at home with a birth parent more often than not."""
    if receipt and definition.form == receipt.form:
        field = next(f for f in definition.spec.fields if f.key == receipt.field)
        keys = field.slot_keys()
        if family.shown_arm != _treated(receipt) or family.sequence % 10 == 4:
            return dict.fromkeys(keys, 0)
        attended = [rng.randint(4, 30), rng.randint(0, 24), rng.randint(1, 8), rng.randint(0, 10)]
        return dict(zip(keys, [*attended, rng.choice([0, 0, 4])], strict=False))
    if definition.form == "primary_outcome":
        return {"living_with_birth_parent": rng.random() < 0.65, "source": "la_records"}
    return {}


def _treated(receipt) -> str:
    """The arm whose families attend sessions: the definition's receipt rule names it."""
    return receipt.given_to if receipt else ""


def _not_done(family, form: str, visit: str, users: dict, reason: str) -> None:
    with suppress(TrialError):  # withdrawn: nothing more is expected anyway
        form_not_done(
            family=family,
            form=form,
            visit=visit,
            reason=reason,
            actor=_entered_by(family, form, users),
            channel=CH,
        )
