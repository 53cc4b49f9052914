"""The accounts of the permission matrices, and the expected answers by scope.

Each table maps an account name (None: signed out) to the status it should get."""

ROLES = [
    "manager",
    "coord.buc",
    "assessor.buc",
    "monitor.buc",
    "stats.blind",
    "stats.unblind",
    "pi.buc",
    "chief",
    "outsider",
    None,
]
SIGNED_IN_ACCOUNTS = [r for r in ROLES if r]
# Who can see each site's records: its own staff, and the trial-wide roles.
BUC_READERS = {
    "manager",
    "coord.buc",
    "assessor.buc",
    "monitor.buc",
    "stats.blind",
    "stats.unblind",
    "pi.buc",
    "chief",
}
OXF_READERS = {"manager", "stats.blind", "stats.unblind", "chief"}
# The chief investigator reads the whole trail, as the trial manager does; neither signs off
# for a monitor.
AUDIT_READERS = {"manager": 200, "monitor.buc": 200, "chief": 200}


def everyone(ok: int, *, signed_out: int) -> dict:
    return {r: ok for r in SIGNED_IN_ACCOUNTS} | {None: signed_out}


def only(allowed: dict[str, int], *, refused: int = 403, signed_out: int) -> dict:
    return everyone(refused, signed_out=signed_out) | allowed


def sees(readers: set[str], ok: int, *, signed_out: int) -> dict:
    """Readers get ok; everyone else is told the record does not exist."""
    return {r: (ok if r in readers else 404) for r in SIGNED_IN_ACCOUNTS} | {None: signed_out}


def acts_on(readers: set[str], allowed: dict[str, int], *, signed_out: int) -> dict:
    """The allowed accounts act; other readers are refused (403); the rest get 404."""
    return (
        {r: (403 if r in readers else 404) for r in SIGNED_IN_ACCOUNTS}
        | {None: signed_out}
        | allowed
    )


def one_event(world) -> int:
    """Make sure the ledger holds an event (for a sign-off to cover); return its seq."""
    from django.db import transaction

    from audit.events import EventType
    from audit.ledger import record
    from core.channels import Channel

    with transaction.atomic():
        return record(
            event=EventType.UPDATE, actor=world.manager, channel=Channel.COMMAND, site=world.buc
        ).seq


def consent_v1(world):
    """A consent version in use at BUC and OXF (made once per world)."""
    if not hasattr(world, "_v1"):
        from core.channels import Channel
        from trial.consents import consent_version_activate, consent_version_create

        world._v1 = consent_version_create(
            trial=world.trial,
            actor=world.manager,
            channel=Channel.COMMAND,
            version="1.0",
            ethics_approval_date=world.start,
            items=["take_part", "video", "records", "inform_gp", "future_research"],
        )
        for site in (world.buc, world.oxf):
            consent_version_activate(
                version=world._v1,
                site=site,
                effective_from=world.start,
                actor=world.manager,
                channel=Channel.COMMAND,
            )
    return world._v1


def open_screening(world, code: str):
    """A new eligible referral at BUC or OXF, screened by that site's coordinator."""
    from tests.trial.conftest import screen

    site = {"BUC": world.buc, "OXF": world.oxf}[code]
    coordinator = {"BUC": world.coord_buc, "OXF": world.coord_oxf}[code]
    return screen(world, site=site, actor=coordinator)


def family_at(world, code: str):
    """An enrolled family at BUC or OXF (made once per world and site)."""
    cache = world.__dict__.setdefault("_families", {})
    if code not in cache:
        from tests.trial.conftest import consent, enrol

        coordinator = {"BUC": world.coord_buc, "OXF": world.coord_oxf}[code]
        cache[code] = enrol(
            world,
            consent_v1(world),
            screening=open_screening(world, code),
            actor=coordinator,
            consents=[(1, consent(world, consent_v1(world), taken_by=coordinator))],
        )
    return cache[code]


def another_family_at_buc(world):
    """A further family enrolled at BUC, after `family_at(world, "BUC")` (not cached)."""
    from tests.trial.conftest import consent, enrol

    version = consent_v1(world)
    return enrol(
        world,
        version,
        screening=open_screening(world, "BUC"),
        actor=world.coord_buc,
        consents=[(1, consent(world, version, taken_by=world.coord_buc))],
    )


def enrol_body(world, code: str) -> dict:
    screening = open_screening(world, code)
    coordinator = {"BUC": world.coord_buc, "OXF": world.coord_oxf}[code]
    from core.clock import today

    return {
        "screening": screening.pk,
        "legal_status": "cp_plan",
        "child": {"given_name": "Ava", "family_name": "Morgan"},
        "parents": [
            {
                "given_name": "Jade",
                "family_name": "Morgan",
                "date_of_birth": "1999-04-03",
                "parental_responsibility": True,
            }
        ],
        "contact": {"address": "12 Mill Lane"},
        "consents": [
            {
                "parent": 1,
                "version": consent_v1(world).pk,
                "consent_date": today().isoformat(),
                "taken_by": coordinator.pk,
                "method": "in_person",
                "answers": {
                    "take_part": True,
                    "video": True,
                    "records": True,
                    "inform_gp": True,
                    "future_research": True,
                },
            }
        ],
    }


def consent_body(world) -> dict:
    from core.clock import today

    return {
        "parent": 1,
        "version": consent_v1(world).pk,
        "consent_date": today().isoformat(),
        "taken_by": world.coord_buc.pk,
        "method": "remote",
        "answers": {
            "take_part": True,
            "video": False,
            "records": True,
            "inform_gp": True,
            "future_research": False,
        },
    }


# Only the coordinators of the site act on its families; its other staff are refused.
COORDINATOR_ACTS = {"coord.buc": 200}


def sealed_test_list(world):
    """A sealed test-mode list for every stratum (made once per world)."""
    if not hasattr(world, "_test_list"):
        from tests.randomisation.conftest import sealed_list

        world._test_list = sealed_list(world, length=10)
    return world._test_list


def unsealed_live_list(world):
    from core.channels import Channel
    from randomisation.services import sequence_generate

    return sequence_generate(
        trial=world.trial, actor=world.stats_unblind, channel=Channel.COMMAND, mode="live", length=4
    )


def randomise_url(world, code: str) -> str:
    sealed_test_list(world)
    return f"/api/v1/families/{family_at(world, code).pk}/randomise/"


def go_live_body(world) -> dict:
    from tests.randomisation.conftest import sealed_list

    sealed_list(world, mode="live", length=4)
    return {}


UNBLINDED_STATISTICIAN = {"stats.unblind": 200}
STATISTICIANS = {"stats.blind": 200, "stats.unblind": 200}


def allocation_url(world, code: str = "BUC") -> str:
    """The result page of a BUC family's allocation (randomised once per world)."""
    from core.channels import Channel
    from randomisation.services import family_randomise

    sealed_test_list(world)
    family = family_at(world, code)
    coordinator = {"BUC": world.coord_buc, "OXF": world.coord_oxf}[code]
    allocation = family_randomise(family=family, actor=coordinator, channel=Channel.COMMAND)
    return f"/families/{family.pk}/allocations/{allocation.pk}/"


# Who may learn a BUC family's arm: not the blinded assessor or statistician.
ARM_AT_BUC = {
    "manager": 200,
    "chief": 200,
    "coord.buc": 200,
    "monitor.buc": 200,
    "pi.buc": 200,
    "stats.unblind": 200,
}


def buc_allocation_id(world) -> int:
    """A BUC family's allocation (randomised once per world)."""
    if not hasattr(world, "_buc_allocation"):
        from core.channels import Channel
        from randomisation.services import family_randomise

        sealed_test_list(world)
        world._buc_allocation = family_randomise(
            family=family_at(world, "BUC"), actor=world.coord_buc, channel=Channel.COMMAND
        )
    return world._buc_allocation.pk


# The eCRF's records: a BUC family randomised 190 days ago (its 6-month window is open),
# with baseline complete; its CORE-10 and intervention receipt at 6 months; queries.
def crf_family(world, code: str = "BUC"):
    cache = world.__dict__.setdefault("_crf_families", {})
    if code not in cache:
        from tests.crf.conftest import randomised

        cache[code] = randomised(world, code, days_ago=190)
    return cache[code]


def crf_response(world, form: str = "core10", code: str = "BUC"):
    cache = world.__dict__.setdefault("_crf_responses", {})
    if (form, code) not in cache:
        from tests.crf.conftest import enter

        family = crf_family(world, code)
        actor = None if code == "OXF" or form == "intervention_receipt" else world.assessor_buc
        cache[(form, code)] = enter(world, family, form, "month_6", actor=actor)
    return cache[(form, code)]


def crf_query(world, *, closed: bool = False):
    from core.channels import Channel
    from crf.queries import query_close, query_raise

    query = query_raise(
        response=crf_response(world),
        field="item_3",
        text="Please check item 3 against the paper form.",
        actor=world.monitor_buc,
        channel=Channel.COMMAND,
    )
    if closed:
        query_close(query=query, actor=world.monitor_buc, channel=Channel.COMMAND)
    return query


def crf_entry_body(world) -> dict:
    from core.clock import today
    from demo.answers import answers_for
    from tests.crf.conftest import load_forms

    crf_family(world)
    spec = load_forms(world)["psoc"].spec
    return {"form": "psoc", "visit": "month_6", "values": answers_for(spec, today())}


# Who enters questionnaires at BUC: its coordinator and its blinded assessor.
QUESTIONNAIRE_ENTRY = {"coord.buc": 200, "assessor.buc": 200}
ANSWERERS_AT_BUC = {"coord.buc": 200, "assessor.buc": 200, "pi.buc": 200}
# Readers of BUC's records who may see a form that reveals the arm (not the blinded ones).
UNBLINDED_BUC_READERS = BUC_READERS - {"assessor.buc", "stats.blind"}


# Locks and freezes. The matrix world has no forms entered, so nothing blocks a lock.
def open_lock(world):
    """The trial locked by the blinded statistician (made once per world)."""
    if not hasattr(world, "_lock"):
        from core.channels import Channel
        from dataset.services import data_lock
        from tests.factories import PASSWORD

        world._lock = data_lock(
            trial=world.trial, actor=world.stats_blind, channel=Channel.COMMAND, password=PASSWORD
        )
    return world._lock


def unlock_asked(world):
    """The lock, with an unlock asked for by the blinded statistician."""
    from core.channels import Channel
    from dataset.services import lock_unlock_request

    return lock_unlock_request(
        lock=open_lock(world), actor=world.stats_blind, channel=Channel.COMMAND, reason="Audit."
    )


def buc_freeze(world):
    from core.channels import Channel
    from dataset.services import data_freeze

    return data_freeze(
        actor=world.manager, channel=Channel.COMMAND, reason="Cleaning.", site=world.buc
    )


READINESS_READERS = {"manager": 200, "stats.blind": 200, "stats.unblind": 200}


def buc_deviation(world, kind: str = "stratification_error"):
    """A protocol deviation of a BUC family, waiting for review."""
    from core.clock import today
    from trial.models import ProtocolDeviation

    return ProtocolDeviation.objects.create(
        family=family_at(world, "BUC"),
        kind=kind,
        severity="minor",
        occurred_on=today(),
        description="Randomised with the wrong age band.",
        recorded_by=world.coord_buc,
    )


def another_answer(response, field: str) -> int:
    """A 0-4 answer that differs from the one the response holds, so a change is a change
    whatever the generated answers were."""
    return 1 if response.values.get(field) != 1 else 2


def built_export(world, *, blinded: bool = True):
    """An interim export, built: blinded (by the blinded statistician) or unblinded (by the
    unblinded one, for a data monitoring committee)."""
    from core.channels import Channel
    from dataset.exporting import export_build, export_request

    asked = export_request(
        trial=world.trial,
        actor=world.stats_blind if blinded else world.stats_unblind,
        channel=Channel.COMMAND,
        blinded=blinded,
        interim=True,
        enqueue=False,
    )
    return export_build(asked.pk)


def locked_out_account(world) -> int:
    """OXF's coordinator, locked out by failed sign-ins; their id."""
    from axes.models import AccessAttempt
    from django.conf import settings

    AccessAttempt.objects.get_or_create(
        username=world.coord_oxf.username,
        defaults={
            "ip_address": "192.0.2.1",
            "user_agent": "test",
            "failures_since_start": settings.AXES_FAILURE_LIMIT,
        },
    )
    return world.coord_oxf.pk


def invited_link(world, password: str = "A-fresh-passphrase-2026") -> dict:
    """A valid set-password link's uid and token for a newly invited account, and a password."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user, _ = get_user_model().objects.get_or_create(
        username="invited.person", defaults={"email": "invited@example.test"}
    )
    user.set_unusable_password()
    user.save()
    return {
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
        "password": password,
    }


def built_dmc(world, part: str = "open", *, build: bool = True):
    """A DMC report of the whole trial asked for by the unblinded statistician: built (its
    PDF made, as the job would) or, with build False, still queued."""
    from core.channels import Channel
    from reports.dmc import dmc_report_build, dmc_report_request

    asked = dmc_report_request(
        trial=world.trial, actor=world.stats_unblind, channel=Channel.COMMAND, part=part
    )
    return dmc_report_build(asked.pk) if build else asked


# The safety API (api/safety.py): who reads safety events at BUC (a reader blinded at every
# site they see, the assessor and the blinded statistician, is refused the listing and does
# not find an event), and the records its rows act on.
SAFETY_READERS = {"manager", "coord.buc", "monitor.buc", "stats.unblind", "pi.buc"}


def buc_safety_event(world, *, assessed: bool = False):
    """A safety event of a randomised BUC family, reported by its coordinator; assessed by
    its PI as possibly related and unexpected (so due to the ethics committee). Made once."""
    key = "_safety_event_assessed" if assessed else "_safety_event"
    if key not in world.__dict__:
        from core.channels import Channel
        from safety.services import sae_assess
        from tests.factories import PASSWORD
        from tests.safety.conftest import report

        event = report(world, crf_family(world))
        if assessed:
            event = sae_assess(
                event=event,
                seriousness=["hospitalisation"],
                relatedness="possible",
                expectedness="unexpected",
                password=PASSWORD,
                actor=world.pi_buc,
                channel=Channel.COMMAND,
            )
        world.__dict__[key] = event
    return world.__dict__[key]


def safety_report_body(world) -> dict:
    from datetime import timedelta

    from django.utils import timezone

    from tests.safety.conftest import sae_values

    aware = timezone.now() - timedelta(hours=2)
    values = sae_values(world, crf_family(world), aware=aware, safeguarding_referral=True)
    return {
        "values": values,
        "aware_time": f"{timezone.localtime(aware):%H:%M}",
        "referral_to": "Children's social care",
        "referral_on": values["reported_on"],
        "late_reason": "",
    }


def buc_unblinding(world, *, approved: bool = False):
    """The BUC assessor's request for a family's arm; approved by the trial manager."""
    from core.channels import Channel
    from safety.unblinding import unblinding_decide, unblinding_request

    item = unblinding_request(
        family=crf_family(world),
        reason="The child is in hospital; the ward asks for the arm.",
        actor=world.assessor_buc,
        channel=Channel.COMMAND,
    )
    if approved:
        item = unblinding_decide(
            item=item,
            approve=True,
            note="A clinical need.",
            actor=world.manager,
            channel=Channel.COMMAND,
        )
    return item


def buc_breach(world):
    """A BUC deviation flagged as a possible serious breach, its report not yet recorded."""
    from datetime import timedelta

    from django.utils import timezone

    deviation = buc_deviation(world, "consent")
    now = timezone.now()
    deviation.possible_serious_breach = True
    deviation.breach_flagged_at, deviation.breach_due_at = now, now + timedelta(days=7)
    deviation.save()
    return deviation
