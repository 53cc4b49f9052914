"""Fixtures shared by the suite, and the rules for tests that need real services.

Tests marked `postgres`, `redis`, `browser`, `r` or `pdf` are skipped (and the run says so)
where that service is missing. CI sets REQUIRE_POSTGRES, REQUIRE_REDIS, REQUIRE_BROWSER and
REQUIRE_PDF (and REQUIRE_R when r-base-core installs), and then any such skip fails the run.
"""

import copy
import os
import shutil
from contextlib import contextmanager
from datetime import timedelta

import hypothesis
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from rest_framework.test import APIClient

from core.roles import Duty, Role
from sites.models import SiteStatus

from .factories import DelegationFactory, MembershipFactory, SiteFactory, TrialFactory, UserFactory

# Requirements traced to tests: `@pytest.mark.requirement("ID")`, REQUIRE_TRACEABILITY.
pytest_plugins = ["tests.traceability"]

# Property tests check behaviour, not speed (benchmarks do that): on a busy two-core runner a
# per-example deadline would fail a correct test.
hypothesis.settings.register_profile("trial", deadline=None)
hypothesis.settings.load_profile("trial")

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
HAS_BROKER = bool(settings.CELERY_BROKER_URL)
CHROMIUM = "/usr/bin/chromium"


def _browser_missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def _r_missing() -> str | None:
    return None if shutil.which("Rscript") else "Rscript is missing (apt-get install r-base-core)"


def _poppler_missing() -> str | None:
    found = shutil.which("pdftotext") and shutil.which("pdftoppm")
    return None if found else "pdftotext or pdftoppm is missing (apt-get install poppler-utils)"


NEEDS = {
    "postgres": ("REQUIRE_POSTGRES", None if ON_POSTGRES else "DATABASE_URL is not PostgreSQL"),
    "redis": ("REQUIRE_REDIS", None if HAS_BROKER else "CELERY_BROKER_URL is unset"),
    "browser": ("REQUIRE_BROWSER", _browser_missing()),
    "r": ("REQUIRE_R", _r_missing()),
    "pdf": ("REQUIRE_PDF", _poppler_missing()),
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker, (_, missing) in NEEDS.items():
            if missing and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=f"{marker}: {missing}"))


_unmarked_groups: set[str] = set()


def pytest_collection_finish(session):
    """Tests grouped with xdist_group share a costly module fixture (the seeded demo) or one
    resource (the Celery broker), and `--dist loadgroup` runs each group in one worker only if
    pytest-xdist could mark its tests; under a pytest where it cannot (pytest-xdist#1386) the
    groups would be split silently, so each such test fails instead, saying why."""
    if getattr(session.config.option, "loadgroup", False):
        # pytest-xdist's own reading of a marked node id: the group follows the last "@".
        _unmarked_groups.update(
            item.nodeid
            for item in session.items
            if item.get_closest_marker("xdist_group")
            and item.nodeid.rfind("@") <= item.nodeid.rfind("]")
        )


def pytest_runtest_setup(item):
    if item.nodeid in _unmarked_groups:
        pytest.fail(
            f"marked xdist_group, but pytest-xdist could not mark its node id under pytest "
            f"{pytest.__version__}, so its group is split across workers: install the pytest "
            "that pyproject.toml pins.",
            pytrace=False,
        )


_required_skips: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and report.when in ("setup", "call"):
        for marker, (env, _missing) in NEEDS.items():
            if os.environ.get(env) == "1" and marker in report.keywords:
                _required_skips.append(f"{report.nodeid} ({marker})")


def pytest_terminal_summary(terminalreporter):
    for marker, (_, missing) in NEEDS.items():
        if missing:
            terminalreporter.write_line(f"NOTE: {marker} tests skipped: {missing}.")
    if _required_skips:
        terminalreporter.write_line(
            f"FAILED: {len(_required_skips)} required tests were skipped:", red=True
        )
        for line in _required_skips[:50]:
            terminalreporter.write_line(f"  {line}", red=True)


def pytest_sessionfinish(session, exitstatus):
    if _required_skips and session.exitstatus == 0:
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _nothing_kept():
    # Reports keep figures under the hash of a site's last ledger event (sites.kept); a
    # test's database is rolled back, so another test may reach the same hash with other data.
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_lockouts(settings):
    # Each test starts with no remembered failures; django-axes keeps them in the database.
    settings.AXES_ENABLED = True


class World:
    """A small trial: BUC and OXF active, MKN proposed, one account per role."""

    def __init__(self):
        self.trial = TrialFactory()
        start = self.start = settings_today() - timedelta(days=100)
        self.buc = SiteFactory(
            trial=self.trial, code="BUC", status=SiteStatus.APPROVED, approved=True
        )
        self.oxf = SiteFactory(
            trial=self.trial, code="OXF", status=SiteStatus.APPROVED, approved=True
        )
        self.mkn = SiteFactory(trial=self.trial, code="MKN", status=SiteStatus.PROPOSED)
        self.users = {}
        self.memberships = {}

        def person(name, role, site=None, duties=()):
            user = self.users.get(name) or UserFactory(username=name)
            self.users[name] = user
            membership = MembershipFactory(
                user=user, trial=self.trial, site=site, role=role, starts_on=start
            )
            self.memberships[(name, site.code if site else None)] = membership
            for duty in duties:
                DelegationFactory(membership=membership, duty=duty, starts_on=start)
            return user

        self.manager = person("manager", Role.TRIAL_MANAGER)
        coord = [Duty.TAKE_CONSENT, Duty.RANDOMISE, Duty.ENTER_DATA]
        self.coord_buc = person("coord.buc", Role.SITE_COORDINATOR, self.buc, coord)
        self.coord_oxf = person("coord.oxf", Role.SITE_COORDINATOR, self.oxf, coord)
        self.assessor_buc = person(
            "assessor.buc", Role.OUTCOME_ASSESSOR, self.buc, [Duty.ENTER_DATA]
        )
        self.pi_buc = person("pi.buc", Role.PRINCIPAL_INVESTIGATOR, self.buc, [Duty.SIGN])
        self.pi_oxf = person("pi.oxf", Role.PRINCIPAL_INVESTIGATOR, self.oxf, [Duty.SIGN])
        self.monitor_buc = person("monitor.buc", Role.MONITOR, self.buc)
        self.stats_blind = person("stats.blind", Role.STATISTICIAN_BLINDED)
        self.stats_unblind = person("stats.unblind", Role.STATISTICIAN_UNBLINDED)
        self.chief = person("chief", Role.CHIEF_INVESTIGATOR)
        self.outsider = UserFactory(username="outsider")
        self.users["outsider"] = self.outsider
        for site, pi in ((self.buc, self.pi_buc), (self.oxf, self.pi_oxf)):
            site.principal_investigator = pi
            site.status = SiteStatus.ACTIVE
            site.save()

    # The role each named account plays in the permission matrices.
    ROLE_ACCOUNTS = {
        "trial_manager": "manager",
        "site_coordinator": "coord.buc",
        "outcome_assessor": "assessor.buc",
        "monitor": "monitor.buc",
        "statistician_blinded": "stats.blind",
        "statistician_unblinded": "stats.unblind",
        "principal_investigator": "pi.buc",
        "chief_investigator": "chief",
        "no_role": "outsider",
    }


def settings_today():
    from core.clock import today

    return today()


@pytest.fixture
def world(db) -> World:
    return World()


@contextmanager
def rolled_back():
    """A block whose writes are rolled back at its end, inside which the services' durable
    transactions may open (as inside a Django TestCase's)."""
    block = transaction.atomic()
    block.__enter__()
    block._from_testcase = True
    try:
        yield
    finally:
        transaction.set_rollback(True)
        block.__exit__(None, None, None)


@contextmanager
def module_transaction(django_db_blocker):
    """For a module-scoped fixture: a transaction open from its set-up until after the
    module's last test, then rolled back. The services' durable blocks may open inside it (as
    in a Django TestCase), and each test's `db` runs in a savepoint of it. The database is
    opened here only to begin and to end it: the fixture opens it to build, a test through `db`."""
    outer = rolled_back()
    with django_db_blocker.unblock():
        outer.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            outer.__exit__(None, None, None)
            connections["default"].close_if_unusable_or_obsolete()


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    """One World for a whole module, in a transaction rolled back after its last test, and
    a copy of the World's attributes as they were made."""
    with module_transaction(django_db_blocker):
        with django_db_blocker.unblock():
            made = World()
            snapshot = copy.deepcopy(made.__dict__)
        yield made, snapshot


@pytest.fixture
def shared_world(_module_world, db) -> World:
    """The module's World, for a module of many cases that read it. Each test runs in a
    savepoint inside the module's transaction (the `db` fixture), so what it writes is gone
    before the next; its attributes (and anything a helper cached on it) are restored too."""
    made, snapshot = _module_world
    made.__dict__.clear()
    made.__dict__.update(copy.deepcopy(snapshot))
    return made


@pytest.fixture
def api():
    """An API client authenticated as a given user (force_authenticate skips tokens; the
    token path has its own tests)."""

    def client_for(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


@pytest.fixture
def page():
    """A page client signed in as a given user through Django's session."""
    from django.test import Client

    def client_for(user) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return client_for


def chromium_path() -> str:
    return shutil.which("chromium") or CHROMIUM
