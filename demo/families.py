"""The demo's screening log and families: referrals at BUC, OXF and SWI since each opened,
with every kind of screening outcome (not eligible by each criterion and by the child's age,
declined and closed for other reasons, each with its coded reason, and the latest still being
approached), and the families enrolled, with made-up people. Built through the services,
like everything in the demo."""

import random
from dataclasses import dataclass
from datetime import date, timedelta

from core.channels import Channel
from sites.models import Site
from trial.consents import (
    ConsentIn,
    consent_record,
    consent_version_activate,
    consent_version_create,
)
from trial.enrolment import ContactIn, PersonIn, family_enrol
from trial.models import Trial
from trial.screening import screening_close, screening_record

from .timeline import Timeline

CH = Channel.COMMAND
GIVEN = [
    "Jade",
    "Chloe",
    "Amber",
    "Shannon",
    "Leah",
    "Aisha",
    "Zara",
    "Kirsty",
    "Megan",
    "Holly",
    "Danielle",
    "Natalie",
    "Sian",
    "Gemma",
    "Rebecca",
    "Tia",
    "Paige",
    "Lauren",
]
PARTNERS = ["Liam", "Jordan", "Connor", "Ryan", "Kyle", "Dean", "Jamal", "Lewis", "Aaron"]
CHILDREN = ["Ava", "Noah", "Isla", "Leo", "Mia", "Oscar", "Ruby", "Alfie", "Freya", "Theo"]
FAMILY = [
    "Morgan",
    "Hughes",
    "Khan",
    "Walsh",
    "Price",
    "Patel",
    "Murphy",
    "Ellis",
    "Begum",
    "Turner",
    "Carter",
    "Ward",
    "Nowak",
    "Davies",
    "Kelly",
    "Shaw",
    "Hussain",
    "Reid",
]
STREETS = [
    "Mill Lane",
    "Church Street",
    "Victoria Road",
    "Station Road",
    "The Crescent",
    "Park View",
    "Meadow Close",
    "Kingsway",
]
TOWNS = {"BUC": ("Aylesbury", "HP20"), "OXF": ("Banbury", "OX16"), "SWI": ("Swindon", "SN2")}
ELIGIBLE = {
    "known_to_social_care": True,
    "cp_plan_or_pre_proceedings": True,
    "parent_has_capacity": True,
    "final_order_made": False,
    "leaving_area": False,
}
# Each way of not being eligible in turn; None: the child is too old at referral.
NOT_ELIGIBLE = [
    ("final_order_made", True),
    ("leaving_area", True),
    (None, None),
    ("known_to_social_care", False),
    ("cp_plan_or_pre_proceedings", False),
    ("parent_has_capacity", False),
]
DECLINED = ["not_interested", "no_time", "prefers_other_support", "no_reason"]
OTHER = [
    ("not_contactable", ""),
    ("referral_withdrawn", ""),
    ("child_placed", ""),
    ("other", "The parent went into a residential assessment unit out of the area."),
]
# What becomes of each referral, in turn: most are enrolled.
FATES = "EENEDEEOENEEDEO"
APPROACHING = 18  # referrals of the last days are still being approached


@dataclass(frozen=True)
class Recruiting:
    """A site's recruitment in the demo: from `opens` days into the plan until `closes`
    (a share of the recruitment so far; None: still open), a referral every `every` days."""

    opens: int
    every: int
    closes: float | None = None


# BUC keeps to its target; OXF opened late and refers slowly, clearly behind its target;
# SWI recruited for a while and then closed to recruitment.
RECRUITING = {
    "BUC": Recruiting(opens=0, every=10),
    "OXF": Recruiting(opens=45, every=24),
    "SWI": Recruiting(opens=0, every=15, closes=0.6),
}


def nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def coordinator_of(site_code: str) -> str:
    """The demo's coordinator of a site (OXF's also covers SWI)."""
    return "coord.buc" if site_code == "BUC" else "coord.oxf"


def closing_date(timeline: Timeline, code: str) -> date | None:
    plan = RECRUITING.get(code)
    return timeline.share(plan.closes) if plan and plan.closes else None


def seed_families(
    trial: Trial, sites: dict[str, Site], users: dict, timeline: Timeline, log
) -> None:
    rng = random.Random(2026)  # noqa: S311  (made-up people, the same on every seed)
    manager = users["manager"]
    v1 = consent_version_create(
        trial=trial,
        actor=manager,
        channel=CH,
        version="1.0",
        ethics_approval_date=timeline.start - timedelta(days=70),
        items=["take_part", "video", "records", "inform_gp", "future_research"],
    )
    for code in RECRUITING:
        consent_version_activate(
            version=v1,
            site=sites[code],
            effective_from=timeline.start - timedelta(days=20),
            actor=manager,
            channel=CH,
        )
    counts = {"referrals": 0, "enrolled": 0}
    turn = 0
    for code, plan in RECRUITING.items():
        site, coordinator = sites[code], users[coordinator_of(code)]
        first = timeline.day(plan.opens)
        last = closing_date(timeline, code) or timeline.today - timedelta(days=2)
        referral = first + timedelta(days=rng.randrange(1, 4))
        while referral <= last:
            fate = FATES[turn % len(FATES)]
            screening = _screen(site, coordinator, referral, fate, turn, rng)
            counts["referrals"] += 1
            if fate == "D":
                screening_close(
                    screening=screening,
                    actor=coordinator,
                    channel=CH,
                    outcome="declined",
                    reason=DECLINED[turn % len(DECLINED)],
                    outcome_date=referral + timedelta(days=9),
                )
            elif fate == "O":
                reason, note = OTHER[turn % len(OTHER)]
                screening_close(
                    screening=screening,
                    actor=coordinator,
                    channel=CH,
                    outcome="other",
                    reason=reason,
                    note=note,
                    outcome_date=referral + timedelta(days=14),
                )
            elif fate == "E" and referral < timeline.today - timedelta(days=APPROACHING):
                _enrol(screening, coordinator, v1, rng, referral)
                counts["enrolled"] += 1
            turn += 1
            referral += timedelta(days=plan.every + rng.randrange(-3, 4))
    log(f"Screening: {counts['referrals']} referrals, {counts['enrolled']} families enrolled.")


def _screen(site: Site, coordinator, referral: date, fate: str, turn: int, rng: random.Random):
    answers = dict(ELIGIBLE)
    born_on = referral - timedelta(days=rng.randrange(5, 690))
    unborn = fate != "N" and rng.random() < 0.2
    if fate == "N":
        key, value = NOT_ELIGIBLE[turn % len(NOT_ELIGIBLE)]
        if key is None:
            born_on = referral - timedelta(days=760 + rng.randrange(60))
        else:
            answers[key] = value
    return screening_record(
        site=site,
        actor=coordinator,
        channel=CH,
        referral_date=referral,
        referrer_type=rng.choice(
            ["social_worker"] * 4
            + ["midwife", "health_visitor", "community_paediatrician", "childrens_centre"]
            + ["mental_health"]
        ),
        answers=answers,
        child_date_of_birth=None if unborn else born_on,
        expected_due_date=referral + timedelta(days=rng.randrange(7, 80)) if unborn else None,
        interpreter_needed=rng.random() < 0.1,
        interpreter_language="Polish",
    )


def _enrol(screening, coordinator, version, rng: random.Random, referral: date):
    surname = rng.choice(FAMILY)
    town, postcode = TOWNS[screening.site.code]
    two_parents = rng.random() < 0.35
    parents = [
        PersonIn(
            given_name=rng.choice(GIVEN),
            family_name=surname,
            date_of_birth=referral
            - timedelta(days=365 * rng.randrange(17, 38) + rng.randrange(365)),
            nhs_number=nhs_number(rng),
            relationship="mother",
            parental_responsibility=True,
        )
    ]
    if two_parents:
        parents.append(
            PersonIn(
                given_name=rng.choice(PARTNERS),
                family_name=rng.choice(FAMILY),
                date_of_birth=referral
                - timedelta(days=365 * rng.randrange(18, 42) + rng.randrange(365)),
                nhs_number=nhs_number(rng),
                relationship="father",
                parental_responsibility=rng.random() < 0.6,
            )
        )
    consent_date = referral + timedelta(days=rng.randrange(3, 10))
    answers = {
        "take_part": True,
        "video": rng.random() < 0.85,
        "records": rng.random() < 0.9,
        "inform_gp": True,
        "future_research": rng.random() < 0.6,
    }
    family = family_enrol(
        screening=screening,
        actor=coordinator,
        channel=CH,
        legal_status=rng.choice(["cp_plan", "cp_plan", "pre_proceedings"]),
        child=PersonIn(
            given_name="" if not screening.child_born else rng.choice(CHILDREN),
            family_name=surname,
            nhs_number="" if not screening.child_born else nhs_number(rng),
        ),
        parents=parents,
        contact=ContactIn(
            address=f"{rng.randrange(1, 120)} {rng.choice(STREETS)}, {town} "
            f"{postcode} {rng.randrange(1, 9)}AB",
            phone=f"07700 900{rng.randrange(100, 999)}",
            social_worker_name=f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
            social_worker_contact=f"01{rng.randrange(200, 999)} {rng.randrange(100000, 999999)}",
        ),
        enrolled_on=consent_date,
        consents=[
            (
                1,
                ConsentIn(
                    version=version,
                    consent_date=consent_date,
                    taken_by=coordinator,
                    method="in_person",
                    answers=answers,
                    interpreter_used=screening.interpreter_needed,
                    interpreter_language=screening.interpreter_language,
                ),
            )
        ],
    )
    if two_parents and rng.random() < 0.7:
        consent_record(
            family=family,
            parent=family.participants.get(role="parent", number=2),
            actor=coordinator,
            channel=CH,
            given=ConsentIn(
                version=version,
                consent_date=consent_date + timedelta(days=2),
                taken_by=coordinator,
                method="remote",
                answers={**answers, "video": False},
            ),
        )
    return family
