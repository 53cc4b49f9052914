"""What happens to the demo's families after randomisation besides their visits: the
withdrawals (at every level, on their dates), serious adverse events and safeguarding
incidents at every stage of their workflow (safety.py), a new consent version at OXF that asks
its families to re-consent, and the protocol deviations (deviations.py)."""

from collections import Counter
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

from .deviations import seed_deviations, seed_unblinded_assessor
from .families import coordinator_of
from .fates import Withdrawing
from .forms import randomised_families
from .safety import seed_safety
from .timeline import Timeline

CH = Channel.COMMAND


def seed_events(
    trial: Trial,
    sites: dict[str, Site],
    users: dict,
    withdrawals: dict[int, Withdrawing],
    timeline: Timeline,
    log,
    *,
    pi_password: str,
) -> None:
    families = randomised_families(trial, users)
    events = seed_safety(trial, families, users, withdrawals, timeline, pi_password)
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
    deviations = seed_deviations(trial, families, users, withdrawals, timeline)
    unblinded = seed_unblinded_assessor(trial, families, users, withdrawals, timeline)
    log(
        f"Events: {len(events)} safety events ({_stages(events)}), {len(withdrawals)} "
        f"withdrawals, {deviations} deviations recorded by hand"
        + (f"; the assessor of {unblinded} was told its arm." if unblinded else ".")
    )


def _stages(events) -> str:
    counts = Counter(e.status for e in events)
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


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
