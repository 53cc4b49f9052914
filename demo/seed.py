"""The demo trial: ReConnect with five sites and one account per role, built through the
services so that the demo's ledger and history are real ones."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from audit.models import AuditEvent
from audit.verification import verify_ledger
from core.channels import Channel
from core.roles import Duty, Role
from dataset.services import data_freeze
from review.services import review_signoff, verification_record
from sites.accounts import account_create
from sites.lifecycle import site_move_status, site_register, site_update
from sites.memberships import delegation_grant, membership_grant
from sites.models import Site, SiteStatus
from trial.bootstrap import trial_bootstrap
from trial.models import Trial

from .allocations import seed_randomisation
from .events import seed_events
from .families import RECRUITING, closing_date, seed_families
from .forms import seed_baseline, seed_follow_up
from .review import seed_review
from .second_factor import seed_second_factors
from .timeline import Timeline, timeline_of

DEMO_PASSWORD = "demo-Reconnect-2026"
DEFINITION = Path(__file__).resolve().parents[1] / "trial" / "definitions" / "reconnect.yaml"
CH = Channel.COMMAND


@dataclass(frozen=True)
class DemoSite:
    code: str
    name: str
    nhs_trust: str
    local_authority: str
    target: int
    status: str


SITES = [
    DemoSite(
        "BUC",
        "Buckinghamshire CAMHS",
        "Oxford Health NHS Foundation Trust",
        "Buckinghamshire Council",
        40,
        SiteStatus.ACTIVE,
    ),
    DemoSite(
        "OXF",
        "Oxfordshire CAMHS",
        "Oxford Health NHS Foundation Trust",
        "Oxfordshire County Council",
        40,
        SiteStatus.ACTIVE,
    ),
    DemoSite(
        "MKN",
        "Milton Keynes CAMHS",
        "Central and North West London NHS Foundation Trust",
        "Milton Keynes City Council",
        30,
        SiteStatus.APPROVED,
    ),
    DemoSite(
        "RDG",
        "Reading CAMHS",
        "Berkshire Healthcare NHS Foundation Trust",
        "Reading Borough Council",
        30,
        SiteStatus.PROPOSED,
    ),
    DemoSite(
        "SWI",
        "Swindon CAMHS",
        "Avon and Wiltshire Mental Health Partnership NHS Trust",
        "Swindon Borough Council",
        20,
        SiteStatus.CLOSED_TO_RECRUITMENT,
    ),
]

# username, first name, last name, role, site code (None: trial-wide), duties
ACCOUNTS = [
    (
        "coord.buc",
        "Amira",
        "Hussain",
        Role.SITE_COORDINATOR,
        "BUC",
        [Duty.TAKE_CONSENT, Duty.RANDOMISE, Duty.ENTER_DATA],
    ),
    (
        "coord.oxf",
        "Tom",
        "Whitfield",
        Role.SITE_COORDINATOR,
        "OXF",
        [Duty.TAKE_CONSENT, Duty.RANDOMISE, Duty.ENTER_DATA],
    ),
    (
        "coord.oxf",
        "Tom",
        "Whitfield",
        Role.SITE_COORDINATOR,
        "SWI",
        [Duty.TAKE_CONSENT, Duty.RANDOMISE, Duty.ENTER_DATA],
    ),
    ("assessor.buc", "Grace", "Okafor", Role.OUTCOME_ASSESSOR, "BUC", [Duty.ENTER_DATA]),
    ("assessor.oxf", "Daniel", "Price", Role.OUTCOME_ASSESSOR, "OXF", [Duty.ENTER_DATA]),
    ("assessor.oxf", "Daniel", "Price", Role.OUTCOME_ASSESSOR, "SWI", [Duty.ENTER_DATA]),
    (
        "pi.buc",
        "Helen",
        "Marsh",
        Role.PRINCIPAL_INVESTIGATOR,
        "BUC",
        [Duty.SIGN, Duty.TAKE_CONSENT],
    ),
    (
        "pi.oxf",
        "Rajesh",
        "Nair",
        Role.PRINCIPAL_INVESTIGATOR,
        "OXF",
        [Duty.SIGN, Duty.TAKE_CONSENT],
    ),
    ("pi.swi", "Claire", "Dunmore", Role.PRINCIPAL_INVESTIGATOR, "SWI", [Duty.SIGN]),
    ("monitor", "Sophie", "Lang", Role.MONITOR, "BUC", []),
    ("monitor", "Sophie", "Lang", Role.MONITOR, "OXF", []),
    ("stats.blind", "Ben", "Carter", Role.STATISTICIAN_BLINDED, None, []),
    ("stats.unblind", "Priya", "Shah", Role.STATISTICIAN_UNBLINDED, None, []),
    ("chief", "Helen", "Ashworth", Role.CHIEF_INVESTIGATOR, None, []),
]
PI_OF = {"BUC": "pi.buc", "OXF": "pi.oxf", "SWI": "pi.swi"}


def demo_logins() -> list[tuple[str, str]]:
    seen: dict[str, list[str]] = {"manager": ["trial manager"]}
    for username, _f, _l, role, site, _d in ACCOUNTS:
        seen.setdefault(username, []).append(
            Role(role).label.lower() + (f" {site}" if site else "")
        )
    return [(u, ", ".join(r)) for u, r in seen.items()]


def seed(log=print) -> Trial:
    """Create the demo trial; refuses if it exists (seed a fresh database)."""
    timeline = timeline_of(DEFINITION)
    start = timeline.start - timedelta(days=90)
    trial = trial_bootstrap(
        path=DEFINITION,
        username="manager",
        email="manager@reconnect.example",
        password=DEMO_PASSWORD,
        first_name="Morag",
        last_name="Ellis",
        starts_on=start,
    )
    manager = trial.memberships.get(role=Role.TRIAL_MANAGER).user
    log(f"Trial {trial.code} ({trial.short_name}) loaded; manager is its trial manager.")

    users = {"manager": manager}
    for username, first, last, *_ in ACCOUNTS:
        if username not in users:
            users[username] = account_create(
                actor=manager,
                channel=CH,
                trial=trial,
                username=username,
                email=f"{username}@reconnect.example",
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
            )

    sites: dict[str, Site] = {}
    for s in SITES:
        sites[s.code] = site_register(
            trial=trial,
            actor=manager,
            channel=CH,
            code=s.code,
            name=s.name,
            nhs_trust=s.nhs_trust,
            local_authority=s.local_authority,
            recruitment_target=s.target,
        )

    for username, _f, _l, role, code, duties in ACCOUNTS:
        membership = membership_grant(
            actor=manager,
            channel=CH,
            user=users[username],
            trial=trial,
            role=role,
            site=sites.get(code) if code else None,
            starts_on=start,
        )
        for duty in duties:
            delegation_grant(
                membership=membership, duty=duty, actor=manager, channel=CH, starts_on=start
            )

    for s in SITES:
        site = sites[s.code]
        if s.code in PI_OF:
            site = site_update(
                site=site, actor=manager, channel=CH, principal_investigator=users[PI_OF[s.code]]
            )
        sites[s.code] = _open(site, s.status, timeline, manager)
    seed_families(trial, sites, users, timeline, log)
    seed_baseline(trial, users, log)
    seed_randomisation(trial, users, timeline, log)
    for s in SITES:
        if s.status == SiteStatus.CLOSED_TO_RECRUITMENT:
            sites[s.code] = site_move_status(
                site=sites[s.code],
                actor=manager,
                channel=CH,
                to_status=s.status,
                effective_date=closing_date(timeline, s.code) or timeline.today,
            )
    for site in sites.values():
        log(f"Site {site.code}: {site.get_status_display().lower()}.")
    withdrawals = seed_follow_up(trial, users, log)
    seed_events(trial, sites, users, withdrawals, timeline, log, pi_password=DEMO_PASSWORD)
    seed_review(trial, users, timeline, log, pi_password=DEMO_PASSWORD)
    _audit_history(trial, sites, users, log)
    _data_management(sites, users, log)
    seed_second_factors(users, log)
    return trial


# When each site was approved, in days into recruitment (each opens as RECRUITING says; MKN
# is approved near the end of the recruitment so far, a share of the days recruited).
APPROVED_ON = {"BUC": -20, "OXF": -10, "SWI": -20}
MKN_APPROVED = 0.85


def _open(site: Site, status: str, timeline: Timeline, manager) -> Site:
    """Approve and open the site as far as its status in the demo (a site closed to
    recruitment is closed once its families are randomised)."""
    if status == SiteStatus.PROPOSED:
        return site
    approved = timeline.day(APPROVED_ON[site.code]) if site.code in APPROVED_ON else None
    approved = approved or timeline.share(MKN_APPROVED)
    site = site_move_status(
        site=site,
        actor=manager,
        channel=CH,
        to_status=SiteStatus.APPROVED,
        effective_date=approved,
        ethics_approval_date=timeline.start - timedelta(days=60),
        rnd_approval_date=min(approved, timeline.start - timedelta(days=40)),
    )
    if status == SiteStatus.APPROVED:
        return site
    return site_move_status(
        site=site,
        actor=manager,
        channel=CH,
        to_status=SiteStatus.ACTIVE,
        effective_date=timeline.day(RECRUITING[site.code].opens),
    )


def _data_management(sites: dict[str, Site], users: dict, log) -> None:
    """SWI, closed to recruitment, has had its data cleaned and frozen; the rest of the trial
    is still being collected, so the lock-readiness report has real work on it."""
    data_freeze(
        actor=users["manager"],
        channel=CH,
        reason="Closed to recruitment; data cleaned at the close-out visit",
        site=sites["SWI"],
    )
    log("Site SWI: frozen.")


def _audit_history(trial: Trial, sites: dict[str, Site], users: dict, log) -> None:
    """What a monitor finds on a first visit: changes made after approval, each with its
    reason, a sign-off of BUC's events so far, and a verification of the whole ledger."""
    manager = users["manager"]
    site_update(
        site=sites["BUC"],
        actor=manager,
        channel=CH,
        recruitment_target=45,
        reason="Target raised after the recruitment review with the sponsor",
    )
    site_update(
        site=sites["OXF"],
        actor=manager,
        channel=CH,
        local_authority="Oxfordshire County Council (Children's Services)",
        reason="Name as it appears on the research agreement",
    )
    buc_events = AuditEvent.objects.filter(site_id=sites["BUC"].pk).order_by("seq")
    review_signoff(
        actor=users["monitor"],
        channel=CH,
        site=sites["BUC"],
        first_seq=buc_events.first().seq,
        last_seq=buc_events.last().seq,
        note="Set-up of BUC reviewed at the site initiation visit",
    )
    verification_record(result=verify_ledger(), actor=manager, channel=CH)
    log(f"Audit ledger: {AuditEvent.objects.count()} events, verified.")
