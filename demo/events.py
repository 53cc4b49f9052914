"""What happens to the demo's families after randomisation besides their visits: the
withdrawals (at every level, on their dates), a few serious adverse events and safeguarding
incidents, and a new consent version at OXF that asks its families to re-consent."""

import random
from datetime import timedelta

from core.channels import Channel
from sites.models import Site
from trial.consents import (
    ConsentIn,
    consent_record,
    consent_version_activate,
    consent_version_create,
)
from trial.enrolment import withdrawal_record
from trial.models import Trial

from .families import coordinator_of
from .fates import Withdrawing
from .forms import enter_form, randomised_families
from .timeline import Timeline

CH = Channel.COMMAND
# kind, seriousness, who, relatedness, expectedness, safeguarding referral, outcome, what
EVENTS = [
    (
        "sae",
        ["hospitalisation"],
        "child",
        "unrelated",
        "expected",
        False,
        "resolved",
        "The child was admitted with bronchiolitis for three nights.",
    ),
    (
        "safeguarding",
        None,
        "child",
        "unrelated",
        "expected",
        True,
        "resolving",
        "Bruising seen at nursery; the safeguarding enquiry found significant harm.",
    ),
    (
        "sae",
        ["hospitalisation", "other_important"],
        "parent",
        "unlikely",
        "expected",
        True,
        "resolved",
        "The parent self-harmed and was treated in the emergency department.",
    ),
    (
        "sae",
        ["life_threatening"],
        "parent",
        "possible",
        "unexpected",
        True,
        "ongoing",
        "An overdose the day after a group session; admitted to a medical ward.",
    ),
    (
        "sae",
        ["hospitalisation"],
        "other_child",
        "unrelated",
        "expected",
        False,
        "resolved",
        "An older brother was admitted overnight after a fall at home.",
    ),
]
STOPS_CONTACT = {"all_contact", "complete"}


def seed_events(
    trial: Trial,
    sites: dict[str, Site],
    users: dict,
    withdrawals: dict[int, Withdrawing],
    timeline: Timeline,
    log,
) -> None:
    rng = random.Random(13)  # noqa: S311  (made-up events, the same on every seed)
    families = randomised_families(trial, users)
    reported = 0
    candidates = [(r, f) for r, f in families if (timeline.today - r.on).days > 60][::3]
    for (randomised, family), event in zip(candidates, EVENTS, strict=False):
        kind, seriousness, person, related, expected, referral, outcome, what = event
        on = randomised.on + timedelta(
            days=30 + rng.randrange((timeline.today - randomised.on).days - 45)
        )
        withdrawing = withdrawals.get(family.pk)
        if withdrawing and withdrawing.level in STOPS_CONTACT and on >= withdrawing.on:
            on = withdrawing.on - timedelta(days=7)
        fixed = {
            "kind": kind,
            "person": person,
            "relatedness": related,
            "expectedness": expected,
            "safeguarding_referral": referral,
            "outcome": outcome,
            "description": what,
            "reported_on": min(on + timedelta(days=1), timeline.today).isoformat(),
        }
        if seriousness:
            fixed["seriousness"] = seriousness
        reported += enter_form(family, "sae", "", on, users, rng, fixed)
    for _randomised, family in families:
        withdrawing = withdrawals.get(family.pk)
        if withdrawing:
            withdrawal_record(
                family=family,
                actor=users[coordinator_of(family.site.code)],
                channel=CH,
                level=withdrawing.level,
                withdrawal_date=withdrawing.on,
                reason=withdrawing.reason,
            )
    _reconsent(trial, sites, users, timeline)
    log(f"Events: {reported} serious adverse events, {len(withdrawals)} withdrawals recorded.")


def _reconsent(trial: Trial, sites: dict[str, Site], users: dict, timeline: Timeline) -> None:
    """Version 2.0 in effect at OXF for a week: half its families have re-consented."""
    v2 = consent_version_create(
        trial=trial,
        actor=users["manager"],
        channel=CH,
        version="2.0",
        ethics_approval_date=timeline.today - timedelta(days=20),
        items=["take_part", "video", "records", "inform_gp", "future_research"],
        reconsent_required=True,
    )
    consent_version_activate(
        version=v2,
        site=sites["OXF"],
        effective_from=timeline.today - timedelta(days=7),
        actor=users["manager"],
        channel=CH,
    )
    oxf = list(trial.families.filter(site=sites["OXF"]).order_by("id"))
    for family in oxf[: len(oxf) // 2]:
        consent_record(
            family=family,
            parent=family.participants.get(role="parent", number=1),
            actor=users["coord.oxf"],
            channel=CH,
            given=ConsentIn(
                version=v2,
                consent_date=timeline.today - timedelta(days=3),
                taken_by=users["coord.oxf"],
                method="in_person",
                answers=dict.fromkeys(v2.items, True),
            ),
        )
