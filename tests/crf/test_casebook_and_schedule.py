"""The casebook (bounded queries, windows, gates, hidden cells), due and overdue forms, the
daily reminder, and the schedule as configuration."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.clock import today
from crf.models import FormDefinition
from crf.selectors import casebook, open_queries_by_site_and_age, outstanding_forms
from trial.definition import DefinitionError, validated
from trial.models import Family
from trial.schedule import Visit

from .conftest import assessor_at, enter, randomised

pytestmark = pytest.mark.django_db


def test_a_visit_window_runs_either_side_of_its_target():
    visit = Visit(key="month_6", label="6 months", day=182, before=28, after=28, forms=["core10"])
    randomised_on = date(2026, 1, 1)
    assert visit.window(randomised_on) == (date(2026, 6, 4), date(2026, 7, 2), date(2026, 7, 30))
    assert visit.in_window(date(2026, 6, 4), randomised_on)
    assert visit.in_window(date(2026, 7, 30), randomised_on)
    assert not visit.in_window(date(2026, 6, 3), randomised_on)
    assert not visit.in_window(date(2026, 7, 31), randomised_on)
    assert visit.in_window(date(2026, 7, 31), None) is None


def enter_every_visit(world, family):
    site_assessor = assessor_at(world, family.site)
    for row in casebook(family, world.manager).rows[1:]:
        for cell in row.cells:
            entered_by = world._forms[cell.form].spec.entered_by
            actor = site_assessor if "outcome_assessor" in entered_by else None
            # The assessor says each time they did not learn the arm: a yes would (rightly)
            # refuse them the family's later outcome forms.
            told = {"unblinded": False} if cell.form == "assessor_guess" else {}
            enter(world, family, cell.form, row.visit.key, actor=actor, on=today(), **told)


def test_the_casebook_costs_the_same_queries_however_much_is_entered(world):
    fresh = randomised(world, days_ago=700)
    full = randomised(world, "OXF", days_ago=700)
    enter_every_visit(world, full)

    def cost(family):
        family = Family.objects.get(pk=family.pk)
        with CaptureQueriesContext(connection) as captured:
            book = casebook(family, world.manager)
        return len(captured), book

    few, empty_book = cost(fresh)
    many, full_book = cost(full)
    entered = sum(1 for row in full_book.rows for c in row.cells if c.response)
    assert entered == 7 + 9 + 9 + 10  # every form of every visit
    assert many == few and many <= 20, f"{many} queries for the full casebook"
    # Every follow-up form of the fresh family is overdue (its windows closed).
    states = {c.state for row in empty_book.rows[1:] for c in row.cells}
    assert states == {"overdue"}


def test_the_casebook_page_is_bounded_too(world, page, django_assert_max_num_queries):
    family = randomised(world, "OXF", days_ago=600)
    enter_every_visit(world, family)
    client = page(world.manager)
    with django_assert_max_num_queries(40):
        answer = client.get(f"/families/{family.pk}/casebook/")
    assert answer.status_code == 200 and answer.content.count(b'data-testid="state"') == 35


def test_a_blinded_reader_sees_no_arm_revealing_form(world, page):
    family = randomised(world, days_ago=182)
    enter(world, family, "intervention_receipt", "month_6")
    book = casebook(family, world.assessor_buc)
    hidden = {c.form for row in book.rows for c in row.cells if c.hidden}
    assert hidden == {"service_use", "intervention_receipt"}
    assert all(c.response is None for row in book.rows for c in row.cells if c.hidden)
    body = page(world.assessor_buc).get(f"/families/{family.pk}/casebook/").content.decode()
    assert "Sessions attended" not in body and "not shown to blinded roles" in body


def test_due_and_overdue_forms_follow_the_randomisation_date(world):
    due = randomised(world, days_ago=160)  # the 6-month window opened 6 days ago
    overdue = randomised(world, "OXF", days_ago=215)  # it closed 5 days ago
    found = outstanding_forms(Family.objects.all())
    by_family = {}
    for item in found:
        by_family.setdefault(item.family.pk, set()).add((item.visit.key, item.overdue))
    assert by_family[due.pk] == {("month_6", False)}
    assert by_family[overdue.pk] == {("month_6", True)}
    enter(world, due, "core10", "month_6", actor=world.assessor_buc)
    forms = {i.form for i in outstanding_forms(Family.objects.filter(pk=due.pk))}
    assert "core10" not in forms and "psoc" in forms


def test_the_daily_reminder_emails_each_sites_coordinators_their_overdue_forms(
    world, django_capture_on_commit_callbacks
):
    from crf.tasks import remind_overdue

    randomised(world, "OXF", days_ago=215)
    randomised(world, days_ago=100)  # nothing due yet at BUC
    with django_capture_on_commit_callbacks(execute=True):
        sent = remind_overdue.delay().get()
    assert sent == 1
    (email,) = mail.outbox
    assert email.to == [world.coord_oxf.email] and "OXF: 9 overdue" in email.subject
    assert "6 months" in email.body and "window closed" in email.body


def test_open_queries_are_counted_by_site_and_age(world):
    from core.channels import Channel
    from crf.models import Query
    from crf.queries import query_raise

    family = randomised(world, days_ago=182)
    response = enter(world, family, "core10", "month_6", actor=world.assessor_buc)
    old = query_raise(
        response=response,
        field="item_1",
        text="Check 1",
        actor=world.monitor_buc,
        channel=Channel.WEB,
    )
    query_raise(
        response=response,
        field="item_2",
        text="Check 2",
        actor=world.monitor_buc,
        channel=Channel.WEB,
    )
    Query.objects.filter(pk=old.pk).update(raised_at=old.raised_at - timedelta(days=20))
    counts = open_queries_by_site_and_age(world.monitor_buc)
    assert counts["BUC"]["up to 7 days"] == 1 and counts["BUC"]["15 to 30 days"] == 1
    assert open_queries_by_site_and_age(world.coord_oxf) == {}


def test_forms_load_names_the_file_and_field_and_loads_nothing_on_error(world, tmp_path):
    good = tmp_path / "good-v1.yaml"
    good.write_text(
        "form: good\nversion: 1\nsources: [contact]\nfields:\n"
        "  - {key: a, type: integer, label: A}\n"
    )
    bad = tmp_path / "bad-v1.yaml"
    bad.write_text("form: bad\nversion: 1\nfields:\n  - {key: mood, type: slider, label: Mood}\n")
    with pytest.raises(CommandError) as refused:
        call_command("forms_load", str(good), str(bad), trial="RC", actor="manager")
    assert str(bad) in str(refused.value) and "fields.mood.type" in str(refused.value)
    assert "unknown field type 'slider'" in str(refused.value)
    assert not FormDefinition.objects.exists()


def test_forms_load_loads_the_shipped_forms_once_and_refuses_a_changed_version(world, tmp_path):
    call_command("forms_load", trial="RC", actor="manager")
    loaded = FormDefinition.objects.count()
    assert loaded == 12
    call_command("forms_load", trial="RC", actor="manager")  # unchanged: nothing new
    assert FormDefinition.objects.count() == loaded
    changed = tmp_path / "core10-v1.yaml"
    changed.write_text(
        (FormDefinition.objects.get(form="core10").source_text).replace("max: 4", "max: 5")
    )
    with pytest.raises(CommandError, match="new version number"):
        call_command("forms_load", str(changed), trial="RC", actor="manager")
    with pytest.raises(CommandError, match="trial manager"):
        call_command("forms_load", trial="RC", actor="coord.buc")


@pytest.mark.parametrize(
    ("schedule", "where"),
    [
        (
            {
                "visits": [
                    {"key": "v1", "label": "V", "day": "x", "before": 1, "after": 1, "forms": ["a"]}
                ]
            },
            "schedule.visits[0].day",
        ),
        (
            {
                "visits": [
                    {"key": "v1", "label": "V", "day": 1, "before": -1, "after": 1, "forms": ["a"]}
                ]
            },
            "schedule.visits[0].before",
        ),
        (
            {
                "visits": [
                    {
                        "key": "v1",
                        "label": "V",
                        "day": 1,
                        "before": 1,
                        "after": 1,
                        "forms": ["a", "a"],
                    }
                ]
            },
            "schedule.visits[0].forms",
        ),
        (
            {
                "visits": [
                    {"key": "v2", "label": "V", "day": 9, "before": 1, "after": 1, "forms": ["a"]},
                    {"key": "v1", "label": "V", "day": 1, "before": 1, "after": 1, "forms": ["a"]},
                ]
            },
            "schedule.visits[1].day",
        ),
        ({"visits": [], "any_time": ["a"]}, "schedule.visits"),
    ],
)
def test_the_schedule_is_checked_on_load(schedule, where):
    with pytest.raises(DefinitionError) as refused:
        validated(
            {
                "trial": {"code": "RC", "short_name": "R", "name": "R", "sponsor": "S"},
                "schedule": schedule,
            },
            "x.yaml",
        )
    assert refused.value.key == where


def test_the_overdue_reminder_is_scheduled_daily_in_beat(settings):
    import crf.tasks  # noqa: F401  (registers the task, as the worker's autodiscovery does)
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["crf-overdue-daily"]
    assert entry["task"] == "crf.tasks.remind_overdue" and entry["task"] in app.tasks
    assert entry["schedule"].hour == {7} and entry["schedule"].minute == {0}
