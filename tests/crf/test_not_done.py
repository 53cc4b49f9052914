"""A scheduled form marked not done, with the reason, is no longer expected: it leaves the
forms due and the lock-readiness report. Refused, writing nothing, for a baseline form,
an entered form, a second time, without a reason, or by someone who may not enter it."""

import pytest

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from crf.entry import form_not_done
from crf.models import NotDone
from crf.selectors import casebook, outstanding_forms
from dataset.readiness import lock_readiness
from tests.access import consent_v1, open_screening
from tests.trial.conftest import enrol
from trial.models import Family

from .conftest import enter, randomised

pytestmark = pytest.mark.django_db


def mark(
    world, family, form="psoc", visit="month_6", reason="The family missed the visit.", who=None
):
    return form_not_done(
        family=family,
        form=form,
        visit=visit,
        reason=reason,
        actor=who or world.coord_buc,
        channel=Channel.WEB,
    )


def due(family) -> set[tuple[str, str]]:
    return {(o.visit.key, o.form) for o in outstanding_forms(Family.objects.filter(pk=family.pk))}


def test_a_form_marked_not_done_is_no_longer_due_nor_blocks_a_lock(world):
    family = randomised(world, days_ago=190)
    assert ("month_6", "psoc") in due(family)
    psoc = f"{world.trial.forms.get(form='psoc').title} at 6 months is not complete"
    blocked = lock_readiness(world.trial).blockers
    assert any(b.what == psoc for b in blocked)
    marked = mark(world, family)
    assert ("month_6", "psoc") not in due(family)
    assert not any(b.what == psoc for b in lock_readiness(world.trial).blockers)
    cell = next(
        c
        for r in casebook(family, world.coord_buc).rows
        for c in r.cells
        if r.visit.key == "month_6" and c.form == "psoc"
    )
    assert cell.state == "not_done" and cell.not_done == marked and not cell.due
    event = AuditEvent.objects.get(event_type=EventType.FORM_NOT_DONE)
    assert event.reason == "The family missed the visit." and event.family == family.identifier
    with pytest.raises(Conflict, match="marked not done"):
        enter(world, family, "psoc", "month_6")


def test_refusals_write_nothing(world):
    family = randomised(world, days_ago=190)
    enter(world, family, "core10", "month_6", actor=world.assessor_buc)
    for attempt, error in (
        (lambda: mark(world, family, form="psoc", visit="baseline"), Conflict),
        (lambda: mark(world, family, form="core10"), Conflict),
        (lambda: mark(world, family, reason="  "), TrialError),
        (lambda: mark(world, family, visit=""), TrialError),
        (lambda: mark(world, family, who=world.monitor_buc), NotPermitted),
        (lambda: mark(world, family, who=world.pi_buc), NotPermitted),
    ):
        with pytest.raises(error):
            attempt()
    assert not NotDone.objects.exists()
    mark(world, family)
    with pytest.raises(Conflict, match="already"):
        mark(world, family)


def test_the_coordinator_marks_a_form_not_done_on_its_entry_page(world, page):
    family = randomised(world, days_ago=190)
    client = page(world.coord_buc)
    url = f"/families/{family.pk}/enter/month_6/psoc/"
    assert 'data-testid="not-done"' in client.get(url).content.decode()
    empty = client.post(url, {"action": "not_done", "reason": ""})
    assert empty.status_code == 400 and not NotDone.objects.exists()
    done = client.post(url, {"action": "not_done", "reason": "Moved out of the area."})
    assert done.status_code == 302 and done["Location"] == f"/families/{family.pk}/casebook/"
    book = client.get(f"/families/{family.pk}/casebook/").content.decode()
    assert "Moved out of the area." in book
    waiting = enrol(world, consent_v1(world), screening=open_screening(world, "BUC"))
    baseline = client.get(f"/families/{waiting.pk}/enter/baseline/psoc/")
    assert baseline.status_code == 200 and 'data-testid="entry-form"' in baseline.content.decode()
    assert 'data-testid="not-done"' not in baseline.content.decode()
