"""The demo's protocol deviations: a few of each kind recorded by hand over the months (by
the sites, the monitor and the trial manager; most reviewed, one a possible serious breach
reported to the sponsor), besides those the system finds itself (forms dated outside their
window). And one outcome assessor who learned a family's arm, said on their guess form at
the end of a visit seen today: a deviation the form records, after which another blinded
assessor must enter that family's outcome forms."""

import random
from datetime import timedelta

from core.channels import Channel
from crf.entry import response_submit
from crf.selectors import current_definitions, schedule_of
from trial.config import config_of
from trial.deviations import deviation_breach_reported, deviation_record, deviation_review
from trial.models import ProtocolDeviation, Trial

from .answers import answers_for
from .fates import Randomised, Withdrawing, lost_to_follow_up
from .forms import ASSESSOR_OF, enter_form, follow_up_answers
from .timeline import Timeline

CH = Channel.COMMAND
Kind, Severity = ProtocolDeviation.Kind, ProtocolDeviation.Severity

# (site, kind, severity, days ago, recorded by, what happened, corrective action,
#  preventive action, reviewed by the trial manager, possible serious breach)
LOGGED = [
    (
        "BUC",
        Kind.ELIGIBILITY,
        Severity.MAJOR,
        150,
        "coord.buc",
        "The child protection plan had ended two days before consent; the referral letter "
        "was out of date.",
        "Stays in the trial (intention to treat); the PI and the sponsor told.",
        "The plan's status is checked with the social worker on the day of consent.",
        True,
        False,
    ),
    (
        "OXF",
        Kind.CONSENT,
        Severity.MINOR,
        95,
        "monitor",
        "The optional item on informing the GP was left blank on the consent form.",
        "The parent confirmed the answer at the next visit; the form was re-initialled.",
        "Coordinators check every item before the parent signs.",
        True,
        False,
    ),
    (
        "OXF",
        Kind.STRATIFICATION_ERROR,
        Severity.MINOR,
        70,
        "coord.oxf",
        "Randomised as pre-proceedings; the child protection plan was in fact current.",
        "The factor corrected in the record; the allocation stands.",
        "",
        True,
        False,
    ),
    (
        "BUC",
        Kind.CONTAMINATION,
        Severity.MAJOR,
        40,
        "coord.buc",
        "A parent allocated to usual care joined a ReConnect group session with a friend.",
        "The group facilitator told; the parent did not attend again.",
        "Group registers checked against the allocation list before each session.",
        False,
        False,
    ),
    (
        "BUC",
        Kind.OTHER,
        Severity.MAJOR,
        12,
        "manager",
        "A printed visit schedule with a family's name and trial identifier was left in a "
        "shared office printer at another service.",
        "Retrieved the same day; the family told.",
        "Schedules are printed only at the research office.",
        False,
        True,
    ),
]


def seed_deviations(
    trial: Trial,
    families: list[tuple[Randomised, object]],
    users: dict,
    withdrawals: dict[int, Withdrawing],
    timeline: Timeline,
) -> int:
    """The deviations recorded by hand, each at a family randomised before it happened."""
    recorded = 0
    used: set[int] = set()
    for row in LOGGED:
        site, kind, severity, ago, who, what, corrective, preventive, reviewed, breach = row
        on = timeline.today - timedelta(days=ago)
        family = next(
            (
                f
                for r, f in families
                if f.site.code == site
                and r.on < on
                and f.pk not in used
                and f.pk not in withdrawals
            ),
            None,
        )
        if family is None:
            continue
        used.add(family.pk)
        deviation = deviation_record(
            family=family,
            kind=kind,
            severity=severity,
            occurred_on=on,
            description=what,
            corrective_action=corrective,
            preventive_action=preventive,
            possible_serious_breach=breach,
            actor=users[who],
            channel=CH,
        )
        if reviewed:
            deviation_review(
                deviation=deviation,
                actor=users["manager"],
                channel=CH,
                note="Discussed at the trial management group; the actions are enough.",
            )
        if breach:
            deviation_breach_reported(
                deviation=deviation,
                reported_on=timeline.today,
                actor=users["manager"],
                channel=CH,
            )
        recorded += 1
    return recorded


def seed_unblinded_assessor(
    trial: Trial,
    families: list[tuple[Randomised, object]],
    users: dict,
    withdrawals: dict[int, Withdrawing],
    timeline: Timeline,
) -> str | None:
    """A BUC family seen today at a follow-up visit still open: its forms entered, the
    assessor's guess form last, saying that they were told the family's arm (the form
    records the deviation; the family's later outcome forms need another blinded assessor).
    The family's identifier, or None if no visit is open."""
    definitions = current_definitions(trial)
    receipt = config_of(trial).reporting.receipt
    rng = random.Random(17)  # noqa: S311  (made-up answers, the same on every seed)
    visits = [
        v
        for v in schedule_of(trial).visits
        if not v.before_randomisation and "assessor_guess" in v.forms
    ]
    for randomised, family in families:
        if family.site.code != "BUC" or family.pk in withdrawals or lost_to_follow_up(randomised):
            continue
        for visit in visits:
            earliest, _target, latest = visit.window(randomised.on)
            if not earliest <= timeline.today <= latest:
                continue
            if family.responses.filter(visit=visit.key).exists():
                continue
            for form in visit.forms:
                fixed = follow_up_answers(definitions[form], randomised, receipt, rng)
                if form == "assessor_guess":
                    fixed = {"guess": randomised.shown_arm, "confidence": 5, "unblinded": True}
                    values = answers_for(definitions[form].spec, timeline.today, rng, fixed)
                    response_submit(
                        family=family,
                        form=form,
                        visit=visit.key,
                        values=values,
                        actor=users[ASSESSOR_OF["BUC"]],
                        channel=CH,
                    )
                else:
                    enter_form(family, form, visit.key, timeline.today, users, rng, fixed)
            return family.identifier
    return None
