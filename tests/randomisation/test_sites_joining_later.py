"""A site that joins once randomisation is live: it is activated only with a sealed live list
for its strata (the unblinded statistician is asked for it and the manager sees what the
site waits for), or, where the definition says so, its activation makes and seals the list.
In test mode nothing is asked; under minimisation a new site is one more factor level."""

import hashlib
import html
from datetime import timedelta

import pytest

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, TrialError
from core.roles import Duty, Role
from crf.selectors import schedule_of
from randomisation.factors import stratum_key
from randomisation.models import Allocation, RandomisationList, Stratum
from randomisation.services import (
    family_randomise,
    randomisation_go_live,
    sequence_generate,
    strata_levels,
)
from randomisation.verification import verify_lists
from sites.lifecycle import site_move_status, site_register, site_update
from sites.models import Notification, SiteStatus, SiteStatusStep
from trial.consents import consent_version_activate
from trial.screening import screening_record
from worklist.selectors import work_for

from ..access import consent_v1
from ..crf.conftest import enter, load_forms
from ..factories import DelegationFactory, MembershipFactory, UserFactory
from ..trial.conftest import ELIGIBLE, consent, enrol
from .conftest import sealed_list
from .minimising import minimising

WAITING = "waiting for the site's randomisation list"


def live(world, *, sites=None):
    """The trial live on a list made for every site there is now (BUC, OXF, MKN), or one
    list for each of `sites`."""
    for site in sites or [None]:
        sealed_list(world, mode="live", length=8, site=site)
    randomisation_go_live(trial=world.trial, actor=world.stats_unblind, channel=Channel.API)


def lists_at_activation(world):
    """The definition says a site that joins later gets its list when it is activated."""
    trial = world.trial
    source = trial.definition_source.replace(
        "  method: blocks\n", "  method: blocks\n  lists_for_new_sites: at_activation\n", 1
    )
    assert "lists_for_new_sites: at_activation" in source
    trial.definition_source = source
    trial.definition_sha256 = hashlib.sha256(source.encode()).hexdigest()
    trial.save(update_fields=["definition_source", "definition_sha256"])


def joining(world):
    """RDG, registered now and approved, with its principal investigator, a coordinator and
    an assessor, and the consent version in use there: ready to be activated."""
    site = site_register(
        trial=world.trial,
        actor=world.manager,
        channel=Channel.WEB,
        code="RDG",
        name="Reading CAMHS",
        nhs_trust="Berkshire Healthcare NHS Foundation Trust",
        local_authority="Reading Borough Council",
        recruitment_target=30,
    )
    people = {}
    for name, role, duties in (
        ("pi.rdg", Role.PRINCIPAL_INVESTIGATOR, [Duty.SIGN]),
        ("coord.rdg", Role.SITE_COORDINATOR, [Duty.TAKE_CONSENT, Duty.RANDOMISE, Duty.ENTER_DATA]),
        ("assessor.rdg", Role.OUTCOME_ASSESSOR, [Duty.ENTER_DATA]),
    ):
        people[name] = UserFactory(username=name)
        membership = MembershipFactory(
            user=people[name], trial=world.trial, site=site, role=role, starts_on=world.start
        )
        for duty in duties:
            DelegationFactory(membership=membership, duty=duty, starts_on=world.start)
    world.coord_rdg, world.assessor_rdg = people["coord.rdg"], people["assessor.rdg"]
    consent_version_activate(
        version=consent_v1(world),
        site=site,
        effective_from=world.start,
        actor=world.manager,
        channel=Channel.COMMAND,
    )
    site = move(
        world,
        site,
        SiteStatus.APPROVED,
        effective_date=today() - timedelta(days=30),
        ethics_approval_date=today() - timedelta(days=40),
        rnd_approval_date=today() - timedelta(days=35),
    )
    return site_update(
        site=site,
        actor=world.manager,
        channel=Channel.WEB,
        principal_investigator=people["pi.rdg"],
        reason="PI appointed by the sponsor",
    )


def text(answer) -> str:
    return html.unescape(answer.content.decode())


def move(world, site, to, **kw):
    return site_move_status(site=site, actor=world.manager, channel=Channel.WEB, to_status=to, **kw)


def activate(world, site):
    return move(world, site, SiteStatus.ACTIVE, effective_date=today() - timedelta(days=20))


def site_keys(world, site) -> set[str]:
    return {stratum_key(levels) for levels in strata_levels(world.trial, site)}


def ready_to_randomise(world, site):
    """A family at the site screened, consented, enrolled and with baseline complete."""
    coordinator = world.coord_rdg
    screening = screening_record(
        site=site,
        actor=coordinator,
        channel=Channel.WEB,
        referral_date=today() - timedelta(days=10),
        referrer_type="social_worker",
        child_date_of_birth=today() - timedelta(days=120),
        answers=dict(ELIGIBLE),
    )
    family = enrol(
        world,
        consent_v1(world),
        screening=screening,
        actor=coordinator,
        consents=[(1, consent(world, consent_v1(world), taken_by=coordinator))],
    )
    load_forms(world)
    baseline = schedule_of(world.trial).baseline
    for form in baseline.forms:
        who = world.assessor_rdg if form == "care_index" else coordinator
        enter(world, family, form, baseline.key, actor=who)
    return family


# --- The list required (the definition's default) ------------------------------------------


def test_after_go_live_a_site_without_a_list_is_refused_and_stays_approved(world):
    live(world)
    site = joining(world)
    with pytest.raises(Conflict) as refused:
        activate(world, site)
    assert refused.value.field == "randomisation_list"
    message = refused.value.message
    assert WAITING in message and "unblinded statistician generates and seals it" in message
    assert "RDG" in message and "4 strata" in message
    site.refresh_from_db()
    assert site.status == SiteStatus.APPROVED and not site.can_recruit
    assert not SiteStatusStep.objects.filter(site=site, to_status=SiteStatus.ACTIVE).exists()
    assert not Stratum.objects.filter(key__startswith="site=RDG").exists()


def test_the_unblinded_statistician_is_asked_once_by_email_and_on_their_work_list(world):
    live(world)
    site = joining(world)
    # Asked when the site was approved, with randomisation live: recorded, as every email.
    asked = Notification.objects.get(site=site, recipient=world.stats_unblind.email)
    assert "RDG waits for its randomisation list" in asked.subject
    assert "Generate a live list for RDG" in asked.body
    assert AuditEvent.objects.filter(
        event_type=EventType.NOTIFICATION_SENT, object_id=str(asked.pk)
    ).exists()
    for _attempt in range(2):
        with pytest.raises(Conflict):
            activate(world, site)
    assert Notification.objects.filter(site=site).count() == 1  # not asked again
    [section] = [s for s in work_for(world.stats_unblind) if s.key == "site_lists_to_make"]
    [item] = section.items
    assert item.site == "RDG" and item.url == "/statistics/"
    assert "Generate a live list for RDG" in item.note
    assert not [s for s in work_for(world.stats_blind) if s.key == "site_lists_to_make"]


def test_a_site_refused_before_anyone_was_asked_asks_the_statistician_then(world):
    site = joining(world)  # approved in test mode: nothing asked yet
    live(world, sites=[world.buc, world.oxf, world.mkn])
    assert not Notification.objects.filter(site=site).exists()
    with pytest.raises(Conflict):
        activate(world, site)
    # The refusal rolled back; the request to the statistician was kept, in its own right.
    assert Notification.objects.filter(site=site, recipient=world.stats_unblind.email).exists()


def test_the_manager_sees_what_the_site_waits_for_on_its_page_and_its_activation_step(world, page):
    live(world)
    site = joining(world)
    client = page(world.manager)
    detail = text(client.get(f"/sites/{site.pk}/"))
    assert "Before the site is activated" in detail and WAITING in detail
    step = text(client.get(f"/sites/{site.pk}/status/"))
    assert WAITING in step
    refused = client.post(f"/sites/{site.pk}/status/", {"status": "active"})
    assert refused.status_code == 200 and WAITING in text(refused)
    # The coordinator sees no checklist: it is the manager's.
    assert WAITING not in text(page(world.coord_buc).get(f"/sites/{world.buc.pk}/"))


def test_with_a_sealed_list_for_the_site_it_is_activated(world, page):
    live(world)
    site = joining(world)
    rlist = sealed_list(world, mode="live", length=6, site=site)
    # The site's list covers exactly its own strata.
    assert set(rlist.strata.values_list("key", flat=True)) == site_keys(world, site)
    assert len(site_keys(world, site)) == 4
    detail = text(page(world.manager).get(f"/sites/{site.pk}/"))
    assert WAITING not in detail and "a sealed live list covers RDG" in detail
    assert not [
        i for s in work_for(world.stats_unblind) if s.key == "site_lists_to_make" for i in s.items
    ]
    site = activate(world, site)
    assert site.can_recruit
    family = ready_to_randomise(world, site)
    allocation = family_randomise(family=family, actor=world.coord_rdg, channel=Channel.API)
    assert allocation.mode == "live" and allocation.stratum.rlist_id == rlist.pk


def test_a_list_generated_but_not_sealed_still_waits_for_its_seal(world):
    live(world)
    site = joining(world)
    sequence_generate(
        trial=world.trial,
        actor=world.stats_unblind,
        channel=Channel.API,
        mode="live",
        length=6,
        site=site,
    )
    with pytest.raises(Conflict) as refused:
        activate(world, site)
    assert "has generated it and seals it" in refused.value.message
    [item] = [
        i for s in work_for(world.stats_unblind) if s.key == "site_lists_to_make" for i in s.items
    ]
    assert item.note.startswith("Its live list is generated: check it and seal it")


def test_no_family_at_a_site_without_a_list_reaches_the_randomise_step(world):
    """Activation is refused, so the site takes no referral: no family there is ever
    screened, enrolled and through baseline only to find no slot to randomise into."""
    live(world)
    site = joining(world)
    with pytest.raises(Conflict):
        activate(world, site)
    site.refresh_from_db()
    with pytest.raises(TrialError) as refused:
        screening_record(
            site=site,
            actor=world.coord_rdg,
            channel=Channel.WEB,
            referral_date=today() - timedelta(days=1),
            referrer_type="social_worker",
            child_date_of_birth=today() - timedelta(days=120),
            answers=dict(ELIGIBLE),
        )
    assert refused.value.field == "site" and "cannot take referrals" in refused.value.message
    assert not site.screenings.exists()
    assert not [i for s in work_for(world.coord_rdg) for i in s.items]


def test_going_live_is_refused_while_a_site_that_may_recruit_has_no_live_list(world):
    sealed_list(world, mode="live", length=8)  # made for BUC, OXF and MKN
    site = activate(world, joining(world))  # test mode: nothing asked
    with pytest.raises(TrialError) as refused:
        randomisation_go_live(trial=world.trial, actor=world.stats_unblind, channel=Channel.API)
    assert refused.value.field == "site" and refused.value.message.startswith("RDG may recruit")
    sealed_list(world, mode="live", length=8, site=site)
    randomisation_go_live(trial=world.trial, actor=world.stats_unblind, channel=Channel.API)


def test_through_the_api_the_refusal_names_what_is_missing(world, api):
    live(world)
    site = joining(world)
    answer = api(world.manager).post(
        f"/api/v1/sites/{site.pk}/status/", {"status": "active"}, format="json"
    )
    assert answer.status_code == 409
    assert WAITING in answer.content.decode()


# --- The list made at activation ------------------------------------------------------------


def test_at_activation_the_list_is_made_sealed_and_recorded_and_a_family_is_randomised(world):
    lists_at_activation(world)
    live(world)
    site = joining(world)
    assert not Notification.objects.filter(site=site).exists()  # nobody need be asked
    before = AuditEvent.objects.order_by("-seq").first().seq
    site = activate(world, site)
    assert site.can_recruit
    rlist = RandomisationList.objects.get(site=site)
    assert rlist.mode == "live" and rlist.sealed and rlist.sealed_by == world.manager
    assert set(rlist.strata.values_list("key", flat=True)) == site_keys(world, site)
    assert set(rlist.strata.values_list("length", flat=True)) == {8}  # as the live list's
    events = list(AuditEvent.objects.filter(seq__gt=before).order_by("seq"))
    kinds = [e.event_type for e in events]
    assert kinds.index(EventType.SEQUENCE_GENERATED) < kinds.index(EventType.SEQUENCE_SEALED)
    assert EventType.SITE_STATUS in kinds
    made = [
        e
        for e in events
        if e.event_type in (EventType.SEQUENCE_GENERATED, EventType.SEQUENCE_SEALED)
    ]
    for event in made:
        assert event.actor_username == "manager" and event.actor_role == Role.TRIAL_MANAGER
        assert event.site_code == "RDG" and "activation" in event.reason
    sealed = next(e for e in made if e.event_type == EventType.SEQUENCE_SEALED)
    assert sealed.changes["list_sha256"] == [None, rlist.list_sha256]
    family = ready_to_randomise(world, site)
    allocation = family_randomise(family=family, actor=world.coord_rdg, channel=Channel.API)
    assert allocation.stratum.rlist_id == rlist.pk and allocation.slot.position == 1
    assert verify_lists() == (1, [])


def test_at_activation_the_checklist_says_so_and_the_statistician_is_not_asked(world, page):
    lists_at_activation(world)
    live(world)
    site = joining(world)
    detail = text(page(world.manager).get(f"/sites/{site.pk}/"))
    assert WAITING not in detail and "made and sealed when the site is activated" in detail
    assert not [s for s in work_for(world.stats_unblind) if s.key == "site_lists_to_make"]


def test_at_activation_a_refused_activation_makes_no_list(world):
    lists_at_activation(world)
    live(world)
    site = joining(world)
    site_update(
        site=site,
        actor=world.manager,
        channel=Channel.WEB,
        principal_investigator=None,
        reason="PI left",
    )
    with pytest.raises(TrialError) as refused:
        activate(world, site)
    assert refused.value.field == "principal_investigator"
    assert not RandomisationList.objects.filter(site=site).exists()
    assert not Stratum.objects.filter(key__startswith="site=RDG").exists()


# --- Nothing asked: test mode, and minimisation ---------------------------------------------


def test_in_test_mode_a_site_is_activated_without_a_live_list(world, page):
    site = joining(world)
    assert "Randomisation list" not in text(page(world.manager).get(f"/sites/{site.pk}/"))
    assert activate(world, site).can_recruit
    assert not RandomisationList.objects.filter(site=site).exists()


def test_under_minimisation_a_new_site_needs_nothing_and_randomises(world):
    minimising(world)
    seed = sealed_list(world, mode="live")
    randomisation_go_live(trial=world.trial, actor=world.stats_unblind, channel=Channel.API)
    site = activate(world, joining(world))
    assert site.can_recruit
    assert RandomisationList.objects.count() == 1 and not Notification.objects.filter(site=site)
    family = ready_to_randomise(world, site)
    allocation = family_randomise(family=family, actor=world.coord_rdg, channel=Channel.API)
    assert allocation.minimisation.rlist_id == seed.pk
    assert allocation.factor_values["site"] == "RDG"
    assert Allocation.objects.count() == 1 and verify_lists() == (1, [])


def test_the_statistician_makes_one_sites_list_on_the_randomisation_page(world, page):
    live(world)
    site = joining(world)
    client = page(world.stats_unblind)
    form = text(client.get("/statistics/"))
    assert "RDG · Reading CAMHS" in form and "Every site" in form
    made = client.post(
        "/statistics/", {"action": "generate", "mode": "live", "length": 6, "site": site.pk}
    )
    assert made.status_code == 302
    rlist = RandomisationList.objects.get(site=site)
    assert set(rlist.strata.values_list("key", flat=True)) == site_keys(world, site)
    client.post("/statistics/", {"action": "seal", "list": rlist.pk})
    assert activate(world, site).can_recruit
