"""The demo's screening log and families: about 40 referrals at BUC and OXF, about 25
enrolled, with made-up people. Built through the services, like everything in the demo."""

import random
from datetime import date, timedelta

from core.channels import Channel
from core.clock import today
from sites.models import Site
from trial.consents import (
    ConsentIn,
    consent_record,
    consent_version_activate,
    consent_version_create,
)
from trial.enrolment import ContactIn, PersonIn, family_enrol, withdrawal_record
from trial.models import Trial
from trial.screening import screening_close, screening_record

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
TOWNS = {"BUC": ("Aylesbury", "HP20"), "OXF": ("Banbury", "OX16")}
ELIGIBLE = {
    "known_to_social_care": True,
    "cp_plan_or_pre_proceedings": True,
    "parent_has_capacity": True,
    "final_order_made": False,
    "leaving_area": False,
}
NOT_ELIGIBLE = [
    ("final_order_made", True),
    ("leaving_area", True),
    ("known_to_social_care", False),
    ("cp_plan_or_pre_proceedings", False),
]


# How long ago the demo trial started: long enough for follow-up visits to have fallen due.
TRIAL_DAYS = 600


def nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def seed_families(trial: Trial, sites: dict[str, Site], users: dict, log) -> None:
    rng = random.Random(2026)  # noqa: S311  (made-up people, the same on every seed)
    manager = users["manager"]
    start = today() - timedelta(days=TRIAL_DAYS)
    v1 = consent_version_create(
        trial=trial,
        actor=manager,
        channel=CH,
        version="1.0",
        ethics_approval_date=start - timedelta(days=40),
        items=["take_part", "video", "records", "inform_gp", "future_research"],
    )
    for code in ("BUC", "OXF", "SWI"):
        consent_version_activate(
            version=v1, site=sites[code], effective_from=start, actor=manager, channel=CH
        )
    counts = {"referrals": 0, "enrolled": 0}
    for code, referrals in (("BUC", 23), ("OXF", 19)):
        site, coordinator = sites[code], users[f"coord.{code.lower()}"]
        active_from = site.status_steps.get(to_status="active").effective_date
        span = (today() - active_from).days - 20
        for n in range(referrals):
            referral = active_from + timedelta(days=int(span * n / referrals) + rng.randrange(5))
            unborn = rng.random() < 0.2
            answers = dict(ELIGIBLE)
            fate = rng.random()
            if fate < 0.18:
                key, value = rng.choice(NOT_ELIGIBLE)
                answers[key] = value
            born_on = referral - timedelta(days=rng.randrange(5, 690))
            screening = screening_record(
                site=site,
                actor=coordinator,
                channel=CH,
                referral_date=referral,
                referrer_type=rng.choice(
                    ["social_worker"] * 4 + ["midwife", "health_visitor", "community_paediatrician"]
                ),
                answers=answers,
                child_date_of_birth=None if unborn else born_on,
                expected_due_date=referral + timedelta(days=rng.randrange(7, 80))
                if unborn
                else None,
                interpreter_needed=rng.random() < 0.1,
                interpreter_language="Polish",
            )
            counts["referrals"] += 1
            if not screening.eligible:
                continue
            if fate > 0.9:
                screening_close(
                    screening=screening,
                    actor=coordinator,
                    channel=CH,
                    outcome="declined",
                    reason=rng.choice(["not_interested", "no_time", "prefers_other_support"]),
                    outcome_date=referral + timedelta(days=9),
                )
                continue
            if fate > 0.85 or referral > today() - timedelta(days=12):
                continue  # still being approached
            _enrol(screening, coordinator, v1, rng, referral)
            counts["enrolled"] += 1
    _later_events(trial, sites, users, rng)
    log(f"Screening: {counts['referrals']} referrals, {counts['enrolled']} families enrolled.")


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


def _later_events(trial: Trial, sites: dict[str, Site], users: dict, rng: random.Random) -> None:
    """A withdrawal or two, and a new version at OXF that asks its families to re-consent."""
    families = list(trial.families.order_by("id"))
    if len(families) >= 4:
        withdrawal_record(
            family=families[1],
            actor=users["coord.buc"] if families[1].site.code == "BUC" else users["coord.oxf"],
            channel=CH,
            level="questionnaires",
            withdrawal_date=today() - timedelta(days=30),
            reason="Finds the questionnaires distressing",
        )
        withdrawal_record(
            family=families[3],
            actor=users["coord.buc"] if families[3].site.code == "BUC" else users["coord.oxf"],
            channel=CH,
            level="complete",
            withdrawal_date=today() - timedelta(days=12),
            reason="Family moved out of the area after a care order",
        )
    v2 = consent_version_create(
        trial=trial,
        actor=users["manager"],
        channel=CH,
        version="2.0",
        ethics_approval_date=today() - timedelta(days=20),
        items=["take_part", "video", "records", "inform_gp", "future_research"],
        reconsent_required=True,
    )
    consent_version_activate(
        version=v2,
        site=sites["OXF"],
        effective_from=today() - timedelta(days=7),
        actor=users["manager"],
        channel=CH,
    )
    oxf = [f for f in families if f.site.code == "OXF"]
    for family in oxf[: len(oxf) // 2]:
        mother = family.participants.get(role="parent", number=1)
        consent_record(
            family=family,
            parent=mother,
            actor=users["coord.oxf"],
            channel=CH,
            given=ConsentIn(
                version=v2,
                consent_date=today() - timedelta(days=3),
                taken_by=users["coord.oxf"],
                method="in_person",
                answers=dict.fromkeys(v2.items, True),
            ),
        )
