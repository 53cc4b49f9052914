"""A second trial, loaded from its own definition file, with other arms (2:1) and other
stratification factors (site, and parity answered on a baseline form), runs end to end with
no change to the code: design report, lists, sealing, go-live, randomising, verification and
concealment."""

import hashlib
import io
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from core.channels import Channel
from core.clock import today
from core.errors import TrialError
from core.roles import Duty, Role
from crf.entry import response_submit
from crf.loading import forms_load
from randomisation.design import design_for
from randomisation.models import Allocation, MinimisationStep, RandomisationList, Slot
from randomisation.services import (
    family_randomise,
    randomisation_go_live,
    sequence_generate,
    sequence_seal,
    strata_levels,
)
from randomisation.simulation import simulate
from randomisation.verification import verify_lists
from sites.models import SiteStatus
from trial.bootstrap import trial_bootstrap
from trial.consents import ConsentIn, consent_version_activate, consent_version_create
from trial.enrolment import ContactIn, PersonIn, family_enrol
from trial.screening import screening_record

from ..factories import PASSWORD, DelegationFactory, MembershipFactory, SiteFactory, UserFactory

HERE = Path(__file__).resolve().parent / "second_trial"
DEFINITION = HERE / "first-steps.yaml"
FORM = HERE / "pregnancy-history-v1.yaml"
ARM_TEXTS = ["SESSIONS", "WAITLIST", "Parenting group", "Waiting list", 'data-testid="arm"']


class SecondTrial:
    """The First Steps trial: LEE (target 40) and YRK (target 20) active, one account per
    role, consent version 1.0 in use at both, its baseline form loaded."""

    def __init__(self):
        self.start = today() - timedelta(days=100)
        self.trial = trial_bootstrap(
            path=DEFINITION,
            username="fs.manager",
            email="fs.manager@example.test",
            password=PASSWORD,
            starts_on=self.start,
        )
        self.manager = self.trial.memberships.get(role=Role.TRIAL_MANAGER).user
        self.sites, self.coordinators = {}, {}
        for code, target in (("LEE", 40), ("YRK", 20)):
            site = SiteFactory(
                trial=self.trial,
                code=code,
                recruitment_target=target,
                status=SiteStatus.APPROVED,
                approved=True,
            )
            self.coordinators[code] = self.person(
                f"fs.coord.{code.lower()}",
                Role.SITE_COORDINATOR,
                site,
                [Duty.TAKE_CONSENT, Duty.RANDOMISE, Duty.ENTER_DATA],
            )
            site.principal_investigator = self.person(
                f"fs.pi.{code.lower()}", Role.PRINCIPAL_INVESTIGATOR, site, [Duty.SIGN]
            )
            site.status = SiteStatus.ACTIVE
            site.save()
            self.sites[code] = site
        self.assessor = self.person(
            "fs.assessor.lee", Role.OUTCOME_ASSESSOR, self.sites["LEE"], [Duty.ENTER_DATA]
        )
        self.stats_blind = self.person("fs.stats.blind", Role.STATISTICIAN_BLINDED)
        self.stats_unblind = self.person("fs.stats.unblind", Role.STATISTICIAN_UNBLINDED)
        self.consent_version = consent_version_create(
            trial=self.trial,
            actor=self.manager,
            channel=Channel.COMMAND,
            version="1.0",
            ethics_approval_date=self.start,
            items=["take_part"],
        )
        for site in self.sites.values():
            consent_version_activate(
                version=self.consent_version,
                site=site,
                effective_from=self.start,
                actor=self.manager,
                channel=Channel.COMMAND,
            )
        forms_load(trial=self.trial, paths=[FORM], actor=self.manager, channel=Channel.COMMAND)

    def person(self, username, role, site=None, duties=()):
        user = UserFactory(username=username)
        membership = MembershipFactory(
            user=user, trial=self.trial, site=site, role=role, starts_on=self.start
        )
        for duty in duties:
            DelegationFactory(membership=membership, duty=duty, starts_on=self.start)
        return user

    def family(self, code: str, parity):
        """An enrolled family at the site with its baseline complete: parity a choice, or a
        missing-data code ({"missing": "unknown"})."""
        site, coordinator = self.sites[code], self.coordinators[code]
        screening = screening_record(
            site=site,
            actor=coordinator,
            channel=Channel.COMMAND,
            referral_date=today() - timedelta(days=10),
            referrer_type="midwife",
            child_date_of_birth=today() - timedelta(days=60),
            answers={"lives_in_area": True},
        )
        family = family_enrol(
            screening=screening,
            actor=coordinator,
            channel=Channel.COMMAND,
            legal_status="no_plan",
            child=PersonIn(given_name="Noah", family_name="Hart"),
            parents=[
                PersonIn(
                    given_name="Erin",
                    family_name="Hart",
                    date_of_birth=date(1996, 5, 14),
                    parental_responsibility=True,
                )
            ],
            contact=ContactIn(address="3 Kirk Lane, Leeds"),
            consents=[
                (
                    1,
                    ConsentIn(
                        version=self.consent_version,
                        consent_date=today() - timedelta(days=2),
                        taken_by=coordinator,
                        method="in_person",
                        answers={"take_part": True},
                    ),
                )
            ],
        )
        response_submit(
            family=family,
            form="pregnancy_history",
            visit="baseline",
            values={"completed_on": today().isoformat(), "parity": parity},
            actor=coordinator,
            channel=Channel.COMMAND,
        )
        return family

    def randomise(self, family):
        return family_randomise(
            family=family, actor=self.coordinators[family.site.code], channel=Channel.COMMAND
        )

    def sealed(self, mode: str, length: int | None = None):
        """A sealed list of `length` per stratum (blocks), or the sealed seed (minimisation)."""
        rlist = sequence_generate(
            trial=self.trial,
            actor=self.stats_unblind,
            channel=Channel.COMMAND,
            mode=mode,
            length=length,
        )
        return sequence_seal(rlist=rlist, actor=self.stats_unblind, channel=Channel.COMMAND)

    def minimising(self):
        """The definition changed to minimisation before go-live, as a statistician would."""
        source = self.trial.definition_source.replace("method: blocks", "method: minimisation")
        assert "method: minimisation" in source
        self.trial.definition_source = source
        self.trial.definition_sha256 = hashlib.sha256(source.encode()).hexdigest()
        self.trial.save(update_fields=["definition_source", "definition_sha256"])

    def live(self, method: str):
        if method == "minimisation":
            self.minimising()
        self.sealed("live", 6 if method == "blocks" else None)
        randomisation_go_live(trial=self.trial, actor=self.stats_unblind, channel=Channel.COMMAND)


@pytest.fixture
def fs(db) -> SecondTrial:
    return SecondTrial()


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_the_design_report_reads_the_second_trials_factors_and_ratio(fs):
    design = design_for(fs.trial)
    assert (design.method, design.arms, tuple(design.ratio), tuple(design.block_sizes)) == (
        "blocks",
        ("SESSIONS", "WAITLIST"),
        (2, 1),
        (3, 6),
    )
    assert design.weights == {"site": 1, "parity": 2} and design.p == 0.85
    report = simulate(design, families=60, runs=40, seed=7)
    assert report["design"]["strata"] == 4
    assert report["design"]["factors"] == {
        "site": {"LEE": pytest.approx(2 / 3), "YRK": pytest.approx(1 / 3)},
        "parity": {"first": 0.45, "subsequent": 0.55},
    }
    out = io.StringIO()
    call_command("randomisation_simulate", "--trial", "FS", "--runs", "20", "--json", stdout=out)
    assert '"parity"' in out.getvalue()


def test_lists_are_made_for_the_second_trials_strata_in_its_ratio(fs):
    assert strata_levels(fs.trial, None) == [
        {"site": "LEE", "parity": "first"},
        {"site": "LEE", "parity": "subsequent"},
        {"site": "YRK", "parity": "first"},
        {"site": "YRK", "parity": "subsequent"},
    ]
    rlist = fs.sealed("test", 12)
    assert sorted(rlist.strata.values_list("key", flat=True)) == [
        "site=LEE|parity=first",
        "site=LEE|parity=subsequent",
        "site=YRK|parity=first",
        "site=YRK|parity=subsequent",
    ]
    blocks = defaultdict(list)
    for slot in Slot.objects.filter(stratum__rlist=rlist):
        blocks[(slot.stratum_id, slot.block)].append(slot)
    complete = [slots for slots in blocks.values() if len(slots) == slots[0].block_size]
    assert complete
    for slots in complete:
        size = len(slots)
        assert Counter(s.arm for s in slots) == {"SESSIONS": 2 * size // 3, "WAITLIST": size // 3}


def test_the_second_trial_randomises_goes_live_and_verifies(fs):
    fs.sealed("test", 6)
    trial_run = fs.randomise(fs.family("LEE", "first"))
    assert trial_run.mode == "test"
    assert trial_run.factor_values == {"site": "LEE", "parity": "first"}

    fs.sealed("live", 12)
    randomisation_go_live(trial=fs.trial, actor=fs.stats_unblind, channel=Channel.COMMAND)
    families = [
        fs.family(code, parity)
        for code, parity in [
            ("LEE", "first"),
            ("LEE", "subsequent"),
            ("LEE", "subsequent"),
            ("YRK", "first"),
            ("YRK", "subsequent"),
            ("LEE", "first"),
        ]
    ]
    allocations = [fs.randomise(family) for family in families]
    assert {a.mode for a in allocations} == {"live"}
    for family, allocation in zip(families, allocations, strict=True):
        parity = family.responses.get(form="pregnancy_history").values["parity"]
        assert allocation.factor_values == {"site": family.site.code, "parity": parity}
        assert allocation.stratum.key == f"site={family.site.code}|parity={parity}"
        assert allocation.arm == allocation.slot.arm in ("SESSIONS", "WAITLIST")
    lee_first = [a.slot.position for a in allocations if a.stratum.key == "site=LEE|parity=first"]
    assert lee_first == [1, 2]

    checked, found = verify_lists()
    assert (checked, found) == (7, [])
    out = io.StringIO()
    call_command("randomisation_verify", stdout=out)
    assert "OK" in out.getvalue() and "7 allocations" in out.getvalue()


def test_the_second_trial_minimises_on_its_own_factors_and_every_allocation_replays(fs):
    fs.minimising()
    design = design_for(fs.trial)
    assert (design.method, design.p, design.weights) == (
        "minimisation",
        0.85,
        {"site": 1, "parity": 2},
    )
    report = simulate(design, families=60, runs=40, seed=7)
    assert set(report["design"]["factors"]) == {"site", "parity"}

    fs.live("minimisation")
    seed = RandomisationList.objects.get(trial=fs.trial, mode="live")
    assert seed.method == "minimisation" and seed.strata.count() == 0
    assert seed.parameters["factors"] == ["site", "parity"]
    assert seed.parameters["weights"] == {"parity": 2.0, "site": 1.0}
    families = [
        fs.family(code, parity)
        for code, parity in [
            ("LEE", "first"),
            ("YRK", "subsequent"),
            ("LEE", "subsequent"),
            ("LEE", "first"),
            ("YRK", "first"),
            ("LEE", "subsequent"),
        ]
    ]
    allocations = [fs.randomise(family) for family in families]
    assert all(a.mode == "live" and a.slot_id is None for a in allocations)
    steps = list(MinimisationStep.objects.order_by("position"))
    assert [s.allocation_id for s in steps] == [a.pk for a in allocations]
    fourth = steps[3]
    assert fourth.levels == {"site": "LEE", "parity": "first"}
    assert set(fourth.totals) == {"site", "parity"}
    for factor, level in fourth.levels.items():
        for arm in ("SESSIONS", "WAITLIST"):
            seen = sum(1 for e in steps[:3] if e.levels[factor] == level and e.arm == arm)
            assert fourth.totals[factor][arm] == seen
    assert verify_lists() == (6, [])
    out = io.StringIO()
    call_command("randomisation_verify", stdout=out)
    assert out.getvalue().startswith("OK")


def test_a_missing_parity_refuses_naming_the_factor_and_links_to_baseline(fs):
    fs.sealed("test", 6)
    family = fs.family("YRK", {"missing": "unknown"})
    with pytest.raises(TrialError) as refused:
        fs.randomise(family)
    assert refused.value.field == "parity"
    assert "Parity is not recorded" in refused.value.message
    assert "Pregnancy history" in refused.value.message
    assert not Allocation.objects.exists()

    page = Client()
    page.force_login(fs.coordinators["YRK"], backend="django.contrib.auth.backends.ModelBackend")
    shown = page.get(f"/families/{family.pk}/randomise/").content.decode()
    assert "Parity is not recorded" in shown
    assert "#visit-baseline" in shown


def test_the_confirmation_shows_the_factors_in_words(fs):
    fs.sealed("test", 6)
    family = fs.family("LEE", "subsequent")
    page = Client()
    page.force_login(fs.coordinators["LEE"], backend="django.contrib.auth.backends.ModelBackend")
    shown = page.get(f"/families/{family.pk}/randomise/").content.decode()
    assert "Parity" in shown and "One or more" in shown and "subsequent" not in shown
    assert fs.sites["LEE"].name in shown


@pytest.mark.parametrize("method", ["blocks", "minimisation"])
def test_blinded_roles_of_the_second_trial_never_see_an_arm(fs, method):
    fs.live(method)
    family = fs.family("LEE", "first")
    allocation = fs.randomise(family)

    def seen_by(user) -> dict[str, str]:
        api, page = APIClient(), Client()
        api.force_authenticate(user)
        page.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        seen = {
            url: body(api.get(url))
            for url in [
                "/api/v1/allocations/",
                "/api/v1/families/",
                f"/api/v1/families/{family.pk}/",
                "/api/v1/randomisation/lists/",
                "/api/v1/audit/events/",
            ]
        }
        seen["POST randomise"] = body(api.post(f"/api/v1/families/{family.pk}/randomise/"))
        seen |= {
            url: body(page.get(url))
            for url in [
                "/",
                "/families/",
                f"/families/{family.pk}/",
                f"/families/{family.pk}/randomise/",
                f"/families/{family.pk}/allocations/{allocation.pk}/",
                "/statistics/",
                "/audit/",
            ]
        }
        return seen

    for user in (fs.assessor, fs.stats_blind):
        leaked = {url: [t for t in ARM_TEXTS if t in text] for url, text in seen_by(user).items()}
        assert {url: found for url, found in leaked.items() if found} == {}, user.username
    label = {"SESSIONS": "Parenting group", "WAITLIST": "Waiting list"}[allocation.arm]
    coordinator = Client()
    coordinator.force_login(
        fs.coordinators["LEE"], backend="django.contrib.auth.backends.ModelBackend"
    )
    result = coordinator.get(f"/families/{family.pk}/allocations/{allocation.pk}/")
    assert label in result.content.decode()
    unblinded = APIClient()
    unblinded.force_authenticate(fs.stats_unblind)
    assert allocation.arm in body(unblinded.get("/api/v1/allocations/"))
