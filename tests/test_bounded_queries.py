"""Every list costs the same number of queries for 2 rows as for 20.

The table below is checked against the URL conf: every named page and endpoint is either a
list here, with a way to make its rows, or named in NOT_LISTS with what it shows instead. A
new route that is neither fails `test_every_route_is_declared`, so a list cannot be added
without its query count being held."""

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from axes.models import AccessFailureLog
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from knox.models import AuthToken
from rest_framework.test import APIClient

from core.channels import Channel
from core.clock import today
from core.roles import Duty, Role
from crf.entry import response_verify
from crf.loading import forms_load
from crf.queries import query_answer, query_raise
from crf.signatures import casebook_sign
from dataset.services import (
    analysis_plan_record,
    data_freeze,
    data_lock,
    freeze_release,
    lock_unlock_approve,
    lock_unlock_request,
)
from lock.models import DataLock
from randomisation.services import family_randomise, sequence_generate
from review.services import review_signoff
from sites.lifecycle import site_move_status
from trial.consents import consent_record, consent_version_activate, consent_version_create
from trial.deviations import deviation_review
from trial.enrolment import withdrawal_record
from trial.models import Trial

from .access import buc_deviation, consent_v1, open_screening
from .crf.conftest import enter, enter_baseline, load_forms
from .factories import (
    PASSWORD,
    DelegationFactory,
    MembershipFactory,
    SiteFactory,
    TrialFactory,
    UserFactory,
)
from .randomisation.conftest import sealed_list
from .trial.conftest import ITEMS, consent, enrol

# --- Rows: each maker adds n more rows of one kind to the world --------------------------


def _coordinator(world, code):
    return world.coord_buc if code == "BUC" else world.coord_oxf


def families(world, n: int) -> None:
    """Enrolled families, two in three at BUC; every other one with baseline entered and
    randomised, so that lists show both kinds (and the arm where the viewer may see it)."""
    made = world.__dict__.setdefault("_rows_families", [])
    load_forms(world)
    if not hasattr(world, "_rows_list"):
        world._rows_list = sealed_list(world, length=40)
    for _ in range(n):
        code = "OXF" if len(made) % 3 == 2 else "BUC"
        coordinator = _coordinator(world, code)
        family = enrol(
            world,
            consent_v1(world),
            screening=open_screening(world, code),
            actor=coordinator,
            consents=[(1, consent(world, consent_v1(world), taken_by=coordinator))],
        )
        if len(made) % 2 == 0:
            enter_baseline(world, family)
            family_randomise(family=family, actor=coordinator, channel=Channel.COMMAND)
        made.append(family)


def the_family(world):
    """One randomised BUC family whose own lists grow (responses, consents, signatures)."""
    if not hasattr(world, "_rows_family"):
        families(world, 1)
        world._rows_family = world._rows_families[0]
    return world._rows_family


def screenings(world, n: int) -> None:
    for i in range(n):
        open_screening(world, "OXF" if i % 3 == 2 else "BUC")


def sites(world, n: int) -> None:
    start = world.start
    for _ in range(n):
        count = world.__dict__.setdefault("_rows_sites", [0])
        count[0] += 1
        site = SiteFactory(
            trial=world.trial, code=f"Q{chr(65 + count[0] // 26)}{chr(65 + count[0] % 26)}"
        )
        pi = UserFactory()
        MembershipFactory(
            user=pi, trial=world.trial, site=site, role=Role.PRINCIPAL_INVESTIGATOR, starts_on=start
        )
        site.principal_investigator = pi
        site.save()


def staff(world, n: int) -> None:
    """People with roles and duties at BUC (and one site each elsewhere, for the accounts)."""
    for i in range(n):
        user = UserFactory()
        site = world.buc if i % 2 == 0 else world.oxf
        membership = MembershipFactory(
            user=user,
            trial=world.trial,
            site=site,
            role=Role.SITE_COORDINATOR,
            starts_on=world.start,
        )
        DelegationFactory(membership=membership, duty=Duty.ENTER_DATA, starts_on=world.start)
        MembershipFactory(
            user=user, trial=world.trial, site=world.buc, role=Role.MONITOR, starts_on=world.start
        )


def roles_of_one_person(world, n: int) -> None:
    """Roles held over time by the BUC coordinator (ended ones, then the open one)."""
    for i in range(n):
        started = world.start - timedelta(days=400 - 10 * len(world.__dict__.get("_roles", [])))
        world.__dict__.setdefault("_roles", []).append(i)
        MembershipFactory(
            user=world.coord_buc,
            trial=world.trial,
            site=world.oxf,
            role=Role.MONITOR,
            starts_on=started,
            ends_on=started + timedelta(days=5),
        )


def duties_of_one_role(world, n: int) -> None:
    """Duties delegated and ended over time within the BUC coordinator's role."""
    membership = world.memberships[("coord.buc", "BUC")]
    for _ in range(n):
        done = world.__dict__.setdefault("_duties", [0])
        done[0] += 1
        started = world.start - timedelta(days=5 * done[0])
        DelegationFactory(
            membership=membership,
            duty=Duty.SIGN if done[0] % 2 else Duty.TAKE_CONSENT,
            starts_on=started,
            ends_on=started + timedelta(days=2),
        )


def consent_versions(world, n: int) -> None:
    for _ in range(n):
        done = world.__dict__.setdefault("_versions", [0])
        done[0] += 1
        version = consent_version_create(
            trial=world.trial,
            actor=world.manager,
            channel=Channel.COMMAND,
            version=f"2.{done[0]}",
            ethics_approval_date=world.start,
            items=ITEMS,
        )
        consent_version_activate(
            version=version,
            site=world.buc,
            effective_from=world.start + timedelta(days=done[0]),
            actor=world.manager,
            channel=Channel.COMMAND,
        )


def consents_of_one_family(world, n: int) -> None:
    family = the_family(world)
    parent = family.participants.get(role="parent", number=1)
    for _ in range(n):
        consent_record(
            family=family,
            parent=parent,
            given=consent(world, consent_v1(world)),
            actor=world.coord_buc,
            channel=Channel.COMMAND,
        )


def withdrawals_of_one_family(world, n: int) -> None:
    family = the_family(world)
    for _ in range(n):
        withdrawal_record(
            family=family,
            actor=world.coord_buc,
            channel=Channel.COMMAND,
            level="intervention",
            withdrawal_date=today(),
            reason="The family asked to stop the home visits.",
        )


def responses_of_one_family(world, n: int, *, drafts: bool = True) -> None:
    """Serious adverse event reports of the family (a form entered as often as needed),
    every third one left as a draft unless drafts is False."""
    family = the_family(world)
    for _ in range(n):
        done = world.__dict__.setdefault("_responses", [0])
        done[0] += 1
        enter(world, family, "sae", "", complete=not drafts or done[0] % 3 != 0)


def signatures_of_one_family(world, n: int) -> None:
    family = the_family(world)
    for _ in range(n):
        casebook_sign(
            family=family,
            actor=world.pi_buc,
            password=PASSWORD,
            meaning="reviewed",
            channel=Channel.COMMAND,
        )


def casebook_rows(world, n: int) -> None:
    """Forms and signatures of the family (each signature's content is checked on reading)."""
    responses_of_one_family(world, n, drafts=False)
    signatures_of_one_family(world, n)


def queries(world, n: int) -> None:
    """Queries on BUC forms raised by its monitor; every other one answered."""
    family = the_family(world)
    response = family.responses.get(visit="baseline", form="core10")
    for i in range(n):
        query = query_raise(
            response=response,
            field="item_3",
            text=f"Please check item 3 against the paper form ({i}).",
            actor=world.monitor_buc,
            channel=Channel.COMMAND,
        )
        if i % 2:
            query_answer(
                query=query, text="Checked.", actor=world.coord_buc, channel=Channel.COMMAND
            )


def _new_site(world):
    sites(world, 1)
    return world.trial.sites.order_by("-pk").first()


def lists(world, n: int) -> None:
    """Lists for sites that join later (a trial holds one test list per stratum)."""
    for i in range(n):
        sequence_generate(
            trial=world.trial,
            actor=world.stats_unblind,
            channel=Channel.COMMAND,
            mode="test",
            length=2 + i % 3,
            site=_new_site(world),
        )


def list_of_length(world, n: int) -> None:
    """A list, for a new site, n entries per stratum longer than the last (the URL names
    the newest)."""
    grown = world.__dict__.setdefault("_list_length", [0])
    grown[0] += n
    world._list = sequence_generate(
        trial=world.trial,
        actor=world.stats_unblind,
        channel=Channel.COMMAND,
        mode="test",
        length=grown[0],
        site=_new_site(world),
    )


def signoffs(world, n: int) -> None:
    families(world, 1)  # events to sign off
    for _ in range(n):
        review_signoff(
            actor=world.monitor_buc,
            channel=Channel.COMMAND,
            site=world.buc,
            first_seq=1,
            last_seq=3,
        )


def form_versions(world, n: int, tmp_root=None) -> None:
    """Further forms loaded from spec files (each a form of its own)."""
    load_forms(world)
    folder = world.__dict__.setdefault("_spec_folder", None)
    assert folder is not None
    for _ in range(n):
        done = world.__dict__.setdefault("_specs", [0])
        done[0] += 1
        path = folder / f"extra_{done[0]}.yaml"
        path.write_text(
            f"form: extra_{done[0]}\nversion: 1\ntitle: Extra form {done[0]}\n"
            "fields:\n  - key: note\n    type: text\n    label: Note\n"
        )
        forms_load(trial=world.trial, paths=[path], actor=world.manager, channel=Channel.COMMAND)


def verified_responses(world, n: int) -> None:
    """Completed forms of randomised families, verified by the monitor."""
    families(world, n)
    for family in world._rows_families[-n:]:
        for response in family.responses.filter(status="complete")[:1]:
            if family.site_id == world.buc.pk:
                response_verify(response=response, actor=world.monitor_buc, channel=Channel.COMMAND)


def locks(world, n: int) -> None:
    """Locks of the trial, each unlocked by two people but the last (versions 1, 2, ...)."""
    for _ in range(n):
        open_now = DataLock.objects.filter(trial=world.trial, unlocked_at__isnull=True).first()
        if open_now:
            lock_unlock_request(
                lock=open_now, actor=world.stats_blind, channel=Channel.COMMAND, reason="Fix."
            )
            lock_unlock_approve(lock=open_now, actor=world.manager, channel=Channel.COMMAND)
        data_lock(
            trial=world.trial, actor=world.stats_blind, channel=Channel.COMMAND, password=PASSWORD
        )


def freezes(world, n: int) -> None:
    """Sites frozen by the trial manager, every other freeze released again."""
    for i in range(n):
        frozen = data_freeze(
            actor=world.manager, channel=Channel.COMMAND, reason="Cleaning.", site=_new_site(world)
        )
        if i % 2:
            freeze_release(
                freeze=frozen, actor=world.manager, channel=Channel.COMMAND, reason="Done."
            )


def deviations(world, n: int) -> None:
    """Protocol deviations of BUC families, every other one reviewed."""
    for i in range(n):
        deviation = buc_deviation(world)
        if i % 2:
            deviation_review(
                deviation=deviation, actor=world.manager, channel=Channel.COMMAND, note="Seen."
            )


def safety_events(world, n: int) -> None:
    """Safety events of one BUC family, every other one a safeguarding incident."""
    from tests.safety.conftest import report

    for i in range(n):
        report(world, the_family(world), kind="safeguarding" if i % 2 else "sae")


def unblindings(world, n: int) -> None:
    """The BUC assessor's requests for one family's arm, each decided before the next."""
    from safety.unblinding import unblinding_decide, unblinding_request

    for i in range(n):
        item = unblinding_request(
            family=the_family(world),
            reason="A safety reason.",
            actor=world.assessor_buc,
            channel=Channel.COMMAND,
        )
        unblinding_decide(
            item=item,
            approve=bool(i % 2),
            note="Decided.",
            actor=world.manager,
            channel=Channel.COMMAND,
        )


def analysis_plans(world, n: int) -> None:
    for _ in range(n):
        done = world.__dict__.setdefault("_plans", [0])
        done[0] += 1
        analysis_plan_record(
            trial=world.trial,
            actor=world.stats_blind if done[0] % 2 else world.stats_unblind,
            channel=Channel.COMMAND,
            title="ReConnect statistical analysis plan",
            version=f"0.{done[0]}",
            sha256=f"{done[0]:064x}",
            final=False,
        )


def exports(world, n: int) -> None:
    """Exports asked for, blinded and unblinded, by both statisticians (left queued)."""
    from dataset.exporting import export_request

    for i in range(n):
        export_request(
            trial=world.trial,
            actor=world.stats_blind if i % 2 else world.stats_unblind,
            channel=Channel.COMMAND,
            blinded=bool(i % 2),
            interim=True,
            enqueue=False,
        )


def dmc_reports(world, n: int) -> None:
    """DMC reports asked for by the unblinded statistician, open and closed (left queued)."""
    from reports.dmc import dmc_report_request

    for i in range(n):
        dmc_report_request(
            trial=world.trial,
            actor=world.stats_unblind,
            channel=Channel.COMMAND,
            part="closed" if i % 2 else "open",
        )


def site_steps(world, n: int) -> None:
    """Status steps of proposed sites approved and then activated."""
    for _ in range(n):
        site = _new_site(world)
        site.status = "proposed"
        site.save()
        site_move_status(
            site=site,
            actor=world.manager,
            channel=Channel.COMMAND,
            to_status="approved",
            ethics_approval_date=world.start,
            rnd_approval_date=world.start,
        )


def trials(world, n: int) -> None:
    for _ in range(n):
        TrialFactory(code=f"T{chr(65 + Trial.objects.count())}")


def groups(world, n: int) -> None:
    for _ in range(n):
        Group.objects.create(name=f"group {Group.objects.count() + 1}")


def tokens(world, n: int) -> None:
    for i in range(n):
        AuthToken.objects.create(user=world.coord_buc if i % 2 else world.monitor_buc)


def failed_sign_ins(world, n: int) -> None:
    for _ in range(n):
        username = UserFactory().username
        Client().post("/accounts/login/", {"username": username, "password": "x"})
        # The failure log is written only where AXES_ENABLE_ACCESS_FAILURE_LOG is on.
        AccessFailureLog.objects.create(
            username=username, ip_address="192.0.2.1", user_agent="test", path_info="/"
        )


def sign_ins(world, n: int) -> None:
    for _ in range(n):
        user = UserFactory()
        Client().post("/accounts/login/", {"username": user.username, "password": PASSWORD})


# --- The lists ----------------------------------------------------------------------------

FAMILY_READERS = ("manager", "coord.buc", "assessor.buc", "monitor.buc", "stats.blind", "pi.buc")
# Who sees a family's serious adverse event reports (hidden from the blinded roles).
SAE_READERS = ("manager", "coord.buc", "monitor.buc", "pi.buc")


@dataclass(frozen=True)
class Listing:
    url: Callable  # world -> path (read after the rows are made)
    rows: Callable  # (world, n) -> None
    viewers: tuple[str, ...] = ("manager",)
    api: bool = False


def fixed(path: str) -> Callable:
    return lambda w: path


def family_url(template: str) -> Callable:
    return lambda w: template.format(family=the_family(w).pk)


LISTS: dict[str, Listing] = {
    # API
    "api-forms": Listing(fixed("/api/v1/forms/"), form_versions, ("manager", "coord.buc"), True),
    "api-responses": Listing(
        family_url("/api/v1/families/{family}/responses/"),
        responses_of_one_family,
        SAE_READERS,
        True,
    ),
    "api-signatures": Listing(
        family_url("/api/v1/families/{family}/signatures/"),
        signatures_of_one_family,
        FAMILY_READERS,
        True,
    ),
    "api-queries": Listing(
        fixed("/api/v1/queries/"), queries, ("manager", "coord.buc", "monitor.buc"), True
    ),
    "api-accounts": Listing(fixed("/api/v1/accounts/"), staff, ("manager",), True),
    "api-sites": Listing(fixed("/api/v1/sites/"), sites, ("manager", "stats.blind"), True),
    "api-memberships": Listing(
        fixed("/api/v1/memberships/"), staff, ("manager", "coord.buc"), True
    ),
    "api-delegations": Listing(
        lambda w: f"/api/v1/memberships/{w.memberships[('coord.buc', 'BUC')].pk}/delegations/",
        duties_of_one_role,
        ("manager", "coord.buc"),
        True,
    ),
    "api-screening": Listing(
        fixed("/api/v1/screening/"), screenings, ("manager", "coord.buc"), True
    ),
    "api-families": Listing(fixed("/api/v1/families/"), families, FAMILY_READERS, True),
    "api-family-consents": Listing(
        family_url("/api/v1/families/{family}/consents/"),
        consents_of_one_family,
        ("manager", "coord.buc"),
        True,
    ),
    "api-family-withdrawals": Listing(
        family_url("/api/v1/families/{family}/withdrawals/"),
        withdrawals_of_one_family,
        ("manager", "coord.buc"),
        True,
    ),
    "api-consent-versions": Listing(
        fixed("/api/v1/consent-versions/"), consent_versions, ("manager", "coord.buc"), True
    ),
    "api-allocations": Listing(
        fixed("/api/v1/allocations/"),
        families,
        ("manager", "coord.buc", "stats.blind", "stats.unblind"),
        True,
    ),
    "api-lists": Listing(fixed("/api/v1/randomisation/lists/"), lists, ("stats.unblind",), True),
    "api-list-export": Listing(
        lambda w: f"/api/v1/randomisation/lists/{w._list.pk}/export/",
        list_of_length,
        ("stats.unblind",),
        True,
    ),
    "api-audit-events": Listing(
        fixed("/api/v1/audit/events/?actor=coord.buc"), families, ("manager", "monitor.buc"), True
    ),
    "api-audit-export": Listing(
        fixed("/api/v1/audit/events/export/?actor=coord.buc"),
        families,
        ("manager", "monitor.buc"),
        True,
    ),
    "api-audit-signoffs": Listing(
        fixed("/api/v1/audit/signoffs/"), signoffs, ("manager", "monitor.buc"), True
    ),
    "api-lock-readiness": Listing(
        fixed("/api/v1/lock/readiness/"), families, ("manager", "stats.blind"), True
    ),
    "api-locks": Listing(fixed("/api/v1/locks/"), locks, ("stats.blind", "coord.buc"), True),
    "api-worklist": Listing(
        fixed("/api/v1/worklist/"),
        families,
        ("manager", "coord.buc", "assessor.buc", "monitor.buc", "pi.buc"),
        True,
    ),
    "api-worklist-section": Listing(
        fixed("/api/v1/worklist/site_coordinator/forms_due/"), families, ("coord.buc",), True
    ),
    "api-exports": Listing(
        fixed("/api/v1/exports/"), exports, ("stats.blind", "stats.unblind"), True
    ),
    "api-freezes": Listing(fixed("/api/v1/freezes/"), freezes, ("manager",), True),
    "api-deviations": Listing(
        fixed("/api/v1/deviations/"), deviations, ("manager", "coord.buc", "stats.blind"), True
    ),
    "api-deviations-csv": Listing(
        fixed("/api/v1/deviations.csv"), deviations, ("manager", "coord.buc"), True
    ),
    "api-safety-events": Listing(
        fixed("/api/v1/safety/events/"), safety_events, ("manager", "coord.buc", "pi.buc"), True
    ),
    "api-safety-events-csv": Listing(
        fixed("/api/v1/safety/events/csv/"), safety_events, ("manager", "coord.buc"), True
    ),
    "api-unblindings": Listing(
        fixed("/api/v1/safety/unblinding/"), unblindings, ("manager", "assessor.buc"), True
    ),
    "api-analysis-plans": Listing(
        fixed("/api/v1/analysis-plans/"), analysis_plans, ("manager", "stats.blind"), True
    ),
    # Pages
    "home": Listing(
        fixed("/"),
        families,
        ("manager", "stats.blind", "coord.buc", "assessor.buc", "monitor.buc", "pi.buc"),
    ),
    "work-section": Listing(fixed("/work/site_coordinator/forms_due/"), families, ("coord.buc",)),
    "site-list": Listing(fixed("/sites/"), sites, ("manager", "stats.blind")),
    "site-detail": Listing(lambda w: f"/sites/{w.buc.pk}/", staff, ("manager", "coord.buc")),
    "people": Listing(fixed("/people/"), staff, ("manager", "coord.buc")),
    "account": Listing(
        lambda w: f"/people/accounts/{w.coord_buc.pk}/", roles_of_one_person, ("manager",)
    ),
    "screening-list": Listing(fixed("/screening/"), screenings, ("manager", "coord.buc")),
    "family-list": Listing(fixed("/families/"), families, FAMILY_READERS),
    "deviations": Listing(
        fixed("/deviations/"), deviations, ("manager", "coord.buc", "stats.blind", "chief")
    ),
    "safety-list": Listing(fixed("/safety/"), safety_events, ("manager", "coord.buc", "chief")),
    "safety-unblinding": Listing(
        fixed("/safety/unblinding/"), unblindings, ("manager", "assessor.buc")
    ),
    "family-detail": Listing(
        family_url("/families/{family}/"), consents_of_one_family, ("manager", "coord.buc")
    ),
    "consent-versions": Listing(
        fixed("/consent-versions/"), consent_versions, ("manager", "coord.buc")
    ),
    "crf-dashboard": Listing(
        fixed("/forms/"), verified_responses, ("manager", "coord.buc", "monitor.buc", "pi.buc")
    ),
    "crf-casebook": Listing(family_url("/families/{family}/casebook/"), casebook_rows, SAE_READERS),
    "crf-response": Listing(
        lambda w: (
            f"/families/{the_family(w).pk}/responses/"
            f"{the_family(w).responses.get(visit='baseline', form='core10').pk}/"
        ),
        queries,
        ("manager", "coord.buc", "monitor.buc"),
    ),
    "statistics": Listing(fixed("/statistics/"), lists, ("stats.unblind",)),
    "list-export": Listing(
        lambda w: f"/statistics/lists/{w._list.pk}/export.csv", list_of_length, ("stats.unblind",)
    ),
    "lock": Listing(fixed("/lock/"), families, ("manager", "stats.blind")),
    "dmc-reports": Listing(fixed("/reports/dmc/"), dmc_reports, ("manager", "stats.unblind")),
    "api-dmc-reports": Listing(
        fixed("/api/v1/reports/dmc/"), dmc_reports, ("manager", "stats.unblind"), True
    ),
    "report-consort-listing": Listing(
        fixed("/reports/consort/assessed/"), screenings, ("manager", "coord.buc")
    ),
    "api-report-consort-listing": Listing(
        fixed("/api/v1/reports/consort/assessed/"), screenings, ("manager", "coord.buc"), True
    ),
    "exports": Listing(fixed("/exports/"), exports, ("stats.blind", "stats.unblind")),
    "audit-review": Listing(fixed("/audit/?actor=coord.buc"), families, ("manager", "monitor.buc")),
    "audit-export": Listing(
        fixed("/audit/export.csv?actor=coord.buc"), families, ("manager", "monitor.buc")
    ),
    # The admin's lists: the trial's own, for the trial manager; Django's and the libraries'
    # for a superuser who is also trial manager (the only one who may open them).
    "admin:sites_site_changelist": Listing(fixed("/admin/sites/site/"), sites),
    "admin:sites_membership_changelist": Listing(fixed("/admin/sites/membership/"), staff),
    "admin:sites_delegation_changelist": Listing(fixed("/admin/sites/delegation/"), staff),
    "admin:sites_sitestatusstep_changelist": Listing(
        fixed("/admin/sites/sitestatusstep/"), site_steps
    ),
    "admin:audit_auditevent_changelist": Listing(
        fixed("/admin/audit/auditevent/?actor_username=coord.buc"), families
    ),
    "admin:crf_formdefinition_changelist": Listing(
        fixed("/admin/crf/formdefinition/"), form_versions
    ),
    "admin:trial_trial_changelist": Listing(fixed("/admin/trial/trial/"), trials),
    "admin:lock_freeze_changelist": Listing(fixed("/admin/lock/freeze/"), freezes),
    "admin:lock_datalock_changelist": Listing(fixed("/admin/lock/datalock/"), locks),
    "admin:dataset_analysisplan_changelist": Listing(
        fixed("/admin/dataset/analysisplan/"), analysis_plans
    ),
    "admin:auth_user_changelist": Listing(fixed("/admin/auth/user/"), staff, ("superuser",)),
    "admin:auth_group_changelist": Listing(fixed("/admin/auth/group/"), groups, ("superuser",)),
    "admin:knox_authtoken_changelist": Listing(
        fixed("/admin/knox/authtoken/"), tokens, ("superuser",)
    ),
    "admin:axes_accessattempt_changelist": Listing(
        fixed("/admin/axes/accessattempt/"), failed_sign_ins, ("superuser",)
    ),
    "admin:axes_accessfailurelog_changelist": Listing(
        fixed("/admin/axes/accessfailurelog/"), failed_sign_ins, ("superuser",)
    ),
    "admin:axes_accesslog_changelist": Listing(
        fixed("/admin/axes/accesslog/"), sign_ins, ("superuser",)
    ),
}

# Routes that show one record, a form, or a fixed amount, with what they show instead.
REPORT = "a report of figures: its queries are the same for 3 and 30 families (tests/reports)"
NOT_LISTS: dict[str, str] = {
    "login": "the sign-in form",
    "logout": "signs out",
    "password_change": "a form",
    "second-factor": "one's own second factor: one device and its recovery codes",
    "second-factor-enrol": "a form",
    "second-factor-qr": "one QR code",
    "second-factor-verify": "a form",
    "recovery-codes-generate": "an action",
    "account-second-factor-reset": "an action",
    "api-account-second-factor-reset": "an action",
    "password_change_done": "a message",
    "api-schema": "the OpenAPI document (fixed by the code)",
    "api-docs": "the API's documentation page",
    "api-redoc": "the API's documentation page",
    "api-form": "one form version",
    "api-response": "one entered form",
    "api-response-verify": "an action",
    "api-query": "one query",
    "api-query-answer": "an action",
    "api-query-close": "an action",
    "api-query-reopen": "an action",
    "api-token": "signs in",
    "api-token-revoke": "an action",
    "api-me": "the caller and their open roles (a handful)",
    "api-me-password": "an action",
    "api-account": "one account",
    "api-account-active": "an action",
    "api-site": "one site",
    "api-site-status": "an action",
    "api-membership": "one role",
    "api-membership-end": "an action",
    "api-delegation-end": "an action",
    "api-unlock-request": "an action",
    "api-unlock-approve": "an action",
    "api-freeze-release": "an action",
    "api-export": "one export job",
    "api-safety-event": "one safety event, its clock and its few follow-ups",
    "api-family-safety-events": "an action",
    "api-safety-event-assess": "an action",
    "api-safety-event-review": "an action",
    "api-safety-event-follow-up": "an action",
    "api-safety-event-rec-report": "an action",
    "api-unblinding-decide": "an action",
    "api-unblinding-show": "an action",
    "api-account-invite": "an action",
    "api-account-unlock": "an action",
    "api-password-reset": "an action",
    "api-password-set": "an action",
    "account-invite": "a form",
    "account-unlock": "an action",
    "password-reset": "a form",
    "password-set": "a form",
    "api-export-download": "one bundle's file",
    "reports": "the list of the reports (fixed)",
    "report-consort": REPORT,
    "report-consort-svg": REPORT,
    "report-consort-pdf": REPORT,
    "report-recruitment": REPORT,
    "report-recruitment-svg": REPORT,
    "report-quality": REPORT,
    "report-balance": REPORT,
    "report-safety": REPORT,
    "report-outcome": REPORT,
    "api-report-consort": REPORT,
    "api-report-consort-csv": REPORT,
    "api-report-recruitment": REPORT,
    "api-report-recruitment-csv": REPORT,
    "api-report-quality": REPORT,
    "api-report-quality-csv": REPORT,
    "api-report-balance": REPORT,
    "api-report-balance-csv": REPORT,
    "api-report-safety": REPORT,
    "api-report-safety-csv": REPORT,
    "api-report-outcome": REPORT,
    "api-report-outcome-csv": REPORT,
    "dmc-report-create": "asks for a DMC report (a form post)",
    "dmc-report": "one DMC report job's progress",
    "dmc-report-download": "one DMC report's PDF",
    "api-dmc-report": "one DMC report job's progress",
    "api-dmc-report-download": "one DMC report's PDF",
    "export": "one export job's progress",
    "export-download": "one bundle's file",
    "api-not-done": "an action",
    "api-deviation-review": "an action",
    "api-deviation-breach": "an action",
    "api-deviation-breach-reported": "an action",
    "deviation-new": "a form",
    "deviation-detail": "one deviation and its review",
    "deviation-review": "an action",
    "deviation-breach": "an action",
    "deviation-breach-reported": "an action",
    "safety-event": "one safety event, its clock and its few follow-ups",
    "safety-report": "the safety form, to report an event",
    "api-screening-detail": "one screening record",
    "api-screening-close": "an action",
    "api-family": "one family",
    "api-family-identity": "one family's identity",
    "api-consent-correct": "an action",
    "api-consent-version-sites": "an action",
    "api-family-randomise": "an action",
    "api-factor-correction": "an action",
    "api-list-seal": "an action",
    "api-go-live": "an action",
    "api-design-report": "the design report (simulated, not rows of the trial)",
    "audit-signoff": "an action (its form sits on the review page)",
    "validation": "the validation matrix, read from a file (no query of the trial's rows)",
    "screening-new": "a form",
    "screening-detail": "one screening record",
    "screening-enrol": "a form",
    "family-identity": "one family's identity",
    "family-randomise": "a form",
    "allocation-result": "one allocation",
    "crf-entry": "one form's fields",
    "crf-preview": "one form's checks",
    "crf-sign": "a form",
    "site-register": "a form",
    "site-edit": "a form",
    "site-status": "a form",
    "account-create": "a form",
    "account-active": "an action",
    "membership": "one role and its duties (a handful)",
    "delegation-end": "an action",
}


def _routes(patterns=None, namespace=""):
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, f"{p.namespace}:" if p.namespace else namespace)
        elif isinstance(p, URLPattern) and p.name:
            name = namespace + p.name
            # The admin's other routes are its forms, single records and index pages.
            if not name.startswith("admin:") or name.endswith("_changelist"):
                yield name


def test_every_route_is_declared():
    routes = set(_routes())
    undeclared = routes - set(LISTS) - set(NOT_LISTS)
    assert not undeclared, f"declare these routes in LISTS or NOT_LISTS: {sorted(undeclared)}"
    assert not set(LISTS) & set(NOT_LISTS)
    assert not (set(LISTS) | set(NOT_LISTS)) - routes, "declared routes that no longer exist"


def _client(world, who: str, api: bool):
    if who == "superuser" and "superuser" not in world.users:
        world.manager.is_superuser = True
        world.manager.save()
        world.users["superuser"] = world.manager
    user = world.users[who]
    if api:
        client = APIClient()
        client.force_authenticate(user)
        return client
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _read(world, listing: Listing, who: str) -> tuple[list[str], int]:
    """(the queries made, size of the answer) for one viewer; the answer must be a 200."""
    client = _client(world, who, listing.api)
    url = listing.url(world)
    client.get(url)  # first read: per-process caches (content types, the definition) fill
    with CaptureQueriesContext(connection) as queries_made:
        answer = client.get(url)
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
    assert answer.status_code == 200, (who, url, answer.status_code)
    return [q["sql"] for q in queries_made.captured_queries if _counts(q["sql"])], len(body)


def _counts(sql: str) -> bool:
    """The session is saved on every request, at times with a savepoint around it: that is
    the request's, not the rows'."""
    return "django_session" not in sql and not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))


def _grown(few: list[str], many: list[str]) -> list[str]:
    """The statements (numbers left out) made more often for more rows: the culprits."""
    shape = lambda sql: re.sub(r"\b\d+\b", "N", sql)[:300]  # noqa: E731
    before, after = Counter(map(shape, few)), Counter(map(shape, many))
    return [f"{after[s] - before[s]:+d} x {s}" for s in after if after[s] > before[s]]


@pytest.mark.parametrize("route", sorted(LISTS))
def test_a_list_costs_the_same_queries_for_2_rows_as_for_20(world, route, tmp_path):
    listing = LISTS[route]
    world._spec_folder = tmp_path
    listing.rows(world, 2)
    few = {who: _read(world, listing, who) for who in listing.viewers}
    listing.rows(world, 18)
    many = {who: _read(world, listing, who) for who in listing.viewers}
    for who in listing.viewers:
        assert many[who][1] > few[who][1], f"{who}: the rows did not reach the answer"
        grown = _grown(few[who][0], many[who][0])
        assert len(many[who][0]) == len(few[who][0]), (
            f"{who}: {len(few[who][0])} queries for 2 rows, {len(many[who][0])} for 20:\n"
            + "\n".join(grown)
        )
