"""The lock page, as the trial manager and the statisticians use it."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dataset.models import AnalysisPlan
from lock.models import DataLock, Freeze
from tests.crf.conftest import randomised
from tests.factories import PASSWORD

from .conftest import ready_family

pytestmark = pytest.mark.django_db


def test_the_report_links_each_blocker_to_where_it_is_done(world, page):
    family = randomised(world, days_ago=200)
    shown = page(world.manager).get("/lock/")
    html = shown.content.decode()
    assert shown.status_code == 200 and 'data-testid="blocked"' in html
    assert f'href="/families/{family.pk}/casebook/#visit-month_6"' in html
    assert 'data-testid="blockers-not_verified"' in html
    # The blinded statistician is told how many are on arm-revealing forms, not which.
    blinded = page(world.stats_blind).get("/lock/").content.decode()
    receipt = world.trial.forms.get(form="intervention_receipt").title
    assert f"{receipt} at 6 months" in html
    assert receipt not in blinded and 'data-testid="concealed"' in blinded


def test_a_statistician_locks_on_the_page_and_two_people_unlock(world, page):
    ready_family(world)
    stats, manager = page(world.stats_blind), page(world.manager)
    assert 'data-testid="ready"' in stats.get("/lock/").content.decode()
    wrong = stats.post("/lock/", {"action": "lock", "password": "guess"})
    assert wrong.status_code == 200 and "That is not your password" in wrong.content.decode()
    assert not DataLock.objects.exists()
    assert stats.post("/lock/", {"action": "lock", "password": PASSWORD}).status_code == 302
    lock = DataLock.objects.get()
    assert lock.is_open and lock.locked_by == world.stats_blind
    refused = stats.post("/lock/", {"action": "unlock_request", "lock": lock.pk, "reason": ""})
    assert refused.status_code == 200 and not DataLock.objects.get().unlock_requested_by
    asked = stats.post(
        "/lock/", {"action": "unlock_request", "lock": lock.pk, "reason": "A late SAE."}
    )
    assert asked.status_code == 302
    assert "Confirm the unlock" not in stats.get("/lock/").content.decode()
    assert "Confirm the unlock" in manager.get("/lock/").content.decode()
    assert stats.post("/lock/", {"action": "unlock_approve", "lock": lock.pk}).status_code == 403
    assert manager.post("/lock/", {"action": "unlock_approve", "lock": lock.pk}).status_code == 302
    assert not DataLock.objects.get().is_open


def test_the_trial_manager_freezes_a_site_and_unfreezes_it_with_a_reason(world, page):
    manager = page(world.manager)
    posted = manager.post("/lock/", {"action": "freeze", "site": world.buc.pk, "reason": ""})
    assert posted.status_code == 200 and not Freeze.objects.exists()
    manager.post("/lock/", {"action": "freeze", "site": world.buc.pk, "reason": "Cleaning."})
    frozen = Freeze.objects.get()
    assert "site BUC" in manager.get("/lock/").content.decode()
    manager.post("/lock/", {"action": "release", "freeze": frozen.pk, "reason": "Done."})
    frozen.refresh_from_db()
    assert not frozen.is_open and frozen.release_reason == "Done."


def test_a_statistician_records_the_plan_from_its_document_on_the_page(world, page):
    document = SimpleUploadedFile("sap.pdf", b"%PDF ReConnect SAP v1.0")
    stats = page(world.stats_unblind)
    posted = stats.post(
        "/lock/",
        {
            "action": "plan",
            "title": "ReConnect SAP",
            "version": "1.0",
            "document": document,
            "final": "on",
        },
    )
    assert posted.status_code == 302
    plan = AnalysisPlan.objects.get()
    assert plan.sha256 == hashlib.sha256(b"%PDF ReConnect SAP v1.0").hexdigest() and plan.final
    assert plan.sha256 in stats.get("/lock/").content.decode()
    missing = stats.post("/lock/", {"action": "plan", "title": "SAP", "version": "2.0"})
    assert missing.status_code == 200 and AnalysisPlan.objects.count() == 1
    assert (
        page(world.manager)
        .post(
            "/lock/",
            {
                "action": "plan",
                "title": "SAP",
                "version": "3.0",
                "document": SimpleUploadedFile("s.pdf", b"x"),
            },
        )
        .status_code
        == 403
    )
