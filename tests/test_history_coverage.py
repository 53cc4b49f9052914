"""Every domain model keeps its versions (django-simple-history)."""

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.requirement("AUD-1")

DOMAIN_APPS = {"trial", "sites", "crf"}
# Internal counters, not records: each identifier they hand out is itself recorded (on the
# screening record or family, with its history and its ledger event).
NOT_RECORDS = {"trial.IdentifierCounter"}


def test_every_domain_model_is_history_tracked():
    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label in DOMAIN_APPS
        and not m.__name__.startswith("Historical")
        and m._meta.label not in NOT_RECORDS
    ]
    assert len(models) >= 6
    assert [m._meta.label for m in models if not hasattr(m, "history")] == []


def test_user_accounts_are_history_tracked():
    assert hasattr(get_user_model(), "history")
