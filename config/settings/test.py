"""The test suite: the database named by DATABASE_URL (PostgreSQL in CI), else SQLite."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES

DEBUG = False
SECRET_KEY = "test-only-key-3f1e9b7c5a2d4f6e8b0c1d3e5f7a9b2c4d6e8f0a"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
IDENTITY_KEYS = ["dGVzdC1vbmx5LWtleS1mb3ItdGhlLXRlc3Qtc3VpdGU="]
# Argon2 at its production cost would make the suite crawl; tests check behaviour, not cost.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": None}

# Static files straight from the source folders; collectstatic is for production.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Tasks run in-process in tests, except those marked `redis`, which start a real worker
# on the broker (tests/tasks).
CELERY_TASK_ALWAYS_EAGER = True

# The suite signs in with force_login, which passes no second factor: the requirement is waived
# here, and the tests that prove it turn the waiver off (tests/sites/test_second_factor.py).
TWO_FACTOR_WAIVED = True
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "sites.E201"]  # noqa: F405

# Test support only: a flush that lifts the ledger's triggers (tests/support).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.support.apps.TestSupportConfig"]  # noqa: F405

# Export bundles and DMC reports of a test run go to folders of their own, removed with the
# machine's temp.
EXPORT_ROOT = Path(tempfile.mkdtemp(prefix="reconnect-test-exports-"))
REPORT_ROOT = Path(tempfile.mkdtemp(prefix="reconnect-test-reports-"))

# Most tests read an event back as soon as its service returns, inside a transaction that is
# rolled back, where no commit nudges the sealer: the suite seals inline, and the tests of
# batched sealing (tests/postgres/test_batched_sealing.py) turn it on with real commits.
LEDGER_SEALING = "inline"
