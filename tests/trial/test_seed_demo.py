import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import TestCase, override_settings

from audit.chain import GENESIS_HASH, link_hash
from audit.models import AuditEvent
from core.errors import Conflict
from dataset.readiness import lock_readiness
from demo.seed import DEMO_PASSWORD
from lock.models import Freeze
from sites.models import Membership, Site
from sites.selectors import sites_visible_to
from trial.models import Trial

from ..conftest import module_transaction

ACCOUNTS = [
    "manager",
    "coord.buc",
    "coord.oxf",
    "assessor.buc",
    "assessor.oxf",
    "pi.buc",
    "pi.oxf",
    "monitor",
    "stats.blind",
    "stats.unblind",
    "chief",
]


@pytest.fixture(scope="module")
def _seeded_once(django_db_setup, django_db_blocker):
    """seed_demo run once for the module (seeding takes a minute), in a transaction rolled
    back after its last test; what it printed. Each test runs inside it in its own."""
    with module_transaction(django_db_blocker):
        with django_db_blocker.unblock():
            printed = io.StringIO()
            # As in the demo: DEBUG on, and the tasks its commits queue run.
            with override_settings(DEBUG=True), TestCase.captureOnCommitCallbacks(execute=True):
                call_command("seed_demo", stdout=printed)
        yield printed.getvalue()


@pytest.fixture
def seeded(_seeded_once, db) -> str:
    return _seeded_once


def test_seed_demo_creates_the_trial_sites_and_accounts(seeded, rf):
    assert Trial.objects.get().code == "RC"
    statuses = dict(Site.objects.values_list("code", "status"))
    assert statuses == {
        "BUC": "active",
        "OXF": "active",
        "MKN": "approved",
        "RDG": "proposed",
        "SWI": "closed_to_recruitment",
    }
    for username in ACCOUNTS:
        assert authenticate(rf.get("/"), username=username, password=DEMO_PASSWORD), username
        assert username in seeded
    assert DEMO_PASSWORD in seeded


def test_the_demo_monitor_sees_buc_and_oxf_only(seeded):
    monitor = Membership.objects.filter(user__username="monitor").first().user
    assert {s.code for s in sites_visible_to(monitor)} == {"BUC", "OXF"}


def test_the_demo_ledger_is_a_real_unbroken_chain(seeded):
    prev = GENESIS_HASH
    events = list(AuditEvent.objects.order_by("seq"))
    assert len(events) > 50
    for event in events:
        assert event.hash == link_hash(prev, event.chained_fields())
        prev = event.hash
    assert {e.channel for e in events} >= {"command", "task"}


def test_every_event_about_a_family_names_its_site(seeded):
    # Reports keep a site's figures while its last event stands (sites.kept): a change to
    # a family's data whose event named no site would leave them stale.
    about_families = AuditEvent.objects.exclude(family="")
    assert about_families.count() > 50
    assert (
        list(about_families.filter(site_id__isnull=True).values_list("event_type", flat=True)) == []
    )


def test_seed_demo_a_second_time_changes_nothing(seeded, settings, capsys):
    settings.DEBUG = True
    before = AuditEvent.objects.count()
    call_command("seed_demo")
    assert "exists already" in capsys.readouterr().out
    assert AuditEvent.objects.count() == before


def test_seed_demo_refuses_with_debug_off(db, settings):
    # Refused before anything is read or written, whether or not this worker's module
    # fixture has seeded the demo already.
    settings.DEBUG = False
    before = (Trial.objects.count(), AuditEvent.objects.count())
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert (Trial.objects.count(), AuditEvent.objects.count()) == before


def test_bootstrap_refuses_an_existing_trial(seeded):
    from demo.seed import DEFINITION
    from trial.bootstrap import trial_bootstrap

    with pytest.raises(Conflict):
        trial_bootstrap(
            path=DEFINITION,
            username="second",
            email="s@example.test",
            password="another-Long-pass-7",
        )


def test_the_demo_has_a_frozen_site_and_a_lock_report_with_real_work_on_it(seeded):
    frozen = Freeze.objects.get(released_at__isnull=True)
    assert (frozen.scope, frozen.site.code) == ("site", "SWI")
    report = lock_readiness(Trial.objects.get(code="RC"))
    kinds = {b.kind for b in report.blockers}
    assert not report.ready and {"open_query", "not_verified", "not_complete"} <= kinds
