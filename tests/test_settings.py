"""Production settings fail fast on nonsense and pass Django's deploy checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]


def manage(*args, **env):
    unset = ("SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "IDENTITY_KEYS")
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        IDENTITY_KEYS=Fernet.generate_key().decode(),
    )
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


PG = "postgres://trial@db.invalid:5432/trial"


@pytest.mark.parametrize("key", ["", "short", "demo-" + "x" * 60, "django-insecure-" + "x" * 60])
def test_production_refuses_to_start_without_a_real_secret_key(key):
    result = manage("check", SECRET_KEY=key, DATABASE_URL=PG)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_production_refuses_sqlite():
    result = manage("check", SECRET_KEY=secrets.token_urlsafe(60), DATABASE_URL="sqlite:///x.db")
    assert result.returncode != 0 and "PostgreSQL" in result.stderr


def test_production_refuses_debug():
    result = manage("check", SECRET_KEY=secrets.token_urlsafe(60), DATABASE_URL=PG, DEBUG="on")
    assert result.returncode != 0 and "DEBUG must be off" in result.stderr


def test_check_deploy_is_clean_in_production():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(60),
        DATABASE_URL=PG,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("keys", ["", "ZGVtby1vbmx5LWtleS1ub3QtZm9yLXJlYWwtZGF0YSE="])
def test_production_refuses_missing_or_published_identity_keys(keys):
    result = manage(
        "check", SECRET_KEY=secrets.token_urlsafe(60), DATABASE_URL=PG, IDENTITY_KEYS=keys
    )
    assert result.returncode != 0 and "IDENTITY_KEYS" in result.stderr
