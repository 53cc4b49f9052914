"""Figures kept per site between views (sites.kept), on the data quality report's known
trial (tests/reports/test_quality.py): each change a service makes at a site shows on the
very next view, exactly as a report computed afresh shows it; a view with nothing changed
counts nothing again; a change at one site counts that site again and no other; and a site
with an event waiting to be sealed is counted on every view."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import reports.quality
from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.clock import today
from crf.entry import form_not_done, response_update, response_verify
from crf.models import Query, QueryStatus
from crf.queries import query_close, query_raise
from reports.balance import balance_of
from reports.consort import consort_of
from reports.quality import quality_of
from reports.recruitment import recruitment_of
from reports.scope import report_scope
from reports.tasks import keep_report_figures
from sites.kept import site_marks
from tests.reports.test_quality import day, known, put, randomised, response
from trial.config import config_of
from trial.consents import consent_version_activate, consent_version_create
from trial.enrolment import withdrawal_record

pytestmark = pytest.mark.django_db

__all__ = ["known"]  # the known trial, a fixture


def afresh(scope):
    cache.clear()
    return quality_of(scope).as_dict()


def enter_a_form(world, known):
    put(world, known["a"], "prfq", "month_6", day(known["a"], 200))


def mark_not_done(world, known):
    form_not_done(
        family=known["a"],
        form="service_use",
        visit="month_6",
        reason="The family could not be reached.",
        actor=world.coord_buc,
        channel=Channel.COMMAND,
    )


def verify(world, known):
    answer = response(known["a"], "legal_status")
    response_verify(response=answer, actor=world.monitor_buc, channel=Channel.COMMAND)


def date_in_window(world, known):
    # CORE-10 was dated late (out of window); corrected to a day inside it.
    answer = response(known["a"], "core10", "month_6")
    field = answer.spec.dated_by
    response_update(
        response=answer,
        values={field: day(known["a"], 190).isoformat()},
        replace=False,
        actor=world.coord_buc,
        channel=Channel.COMMAND,
        reason="Dated from the wrong diary page.",
    )


def raise_a_query(world, known):
    answer = response(known["a"], "legal_status")
    query_raise(
        response=answer,
        field=next(iter(dict(answer.spec.slots()))),
        text="Please check this answer.",
        actor=world.monitor_buc,
        channel=Channel.COMMAND,
    )


def close_a_query(world, known):
    query = Query.objects.filter(family=known["a"]).exclude(status=QueryStatus.CLOSED).first()
    query_close(query=query, actor=world.monitor_buc, channel=Channel.COMMAND, text="Fine.")


def withdraw(world, known):
    withdrawal_record(
        family=known["a"],
        actor=world.coord_buc,
        channel=Channel.COMMAND,
        level="questionnaires",
        withdrawal_date=today(),
        reason="The family asked to.",
    )


def randomise_another(world, known):
    randomised(world, "OXF", 0)


def ask_for_consent_again(world, known):
    items = [i.key for i in config_of(world.trial).consent_items]
    version = consent_version_create(
        trial=world.trial,
        actor=world.manager,
        channel=Channel.COMMAND,
        version="9.0",
        ethics_approval_date=today() - timedelta(days=30),
        items=items,
        reconsent_required=True,
    )
    consent_version_activate(
        version=version,
        site=world.oxf,
        effective_from=today() - timedelta(days=1),
        actor=world.manager,
        channel=Channel.COMMAND,
    )


CHANGES = [
    enter_a_form,
    mark_not_done,
    verify,
    date_in_window,
    raise_a_query,
    close_a_query,
    withdraw,
    randomise_another,
    ask_for_consent_again,
]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__ for c in CHANGES])
def test_each_change_shows_on_the_next_view_as_if_counted_afresh(known, world, change):
    scope = report_scope(world.manager, world.trial)
    before = quality_of(scope).as_dict()
    assert quality_of(scope).as_dict() == before  # kept, and the same
    change(world, known)
    seen = quality_of(scope).as_dict()
    assert seen != before  # the change moved a figure...
    assert seen == afresh(scope)  # ...and every figure is the one counted afresh


# The other reports that keep each site's counts, each as a value to compare, and the changes
# above that move one of its figures.
KEPT_REPORTS = {
    "consort": (consort_of, {"withdraw", "randomise_another"}),
    "recruitment": (lambda scope: recruitment_of(scope).as_dict(), {"randomise_another"}),
    "balance": (lambda scope: balance_of(scope).as_dict(), {"randomise_another"}),
}


@pytest.mark.parametrize("report", KEPT_REPORTS)
@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__ for c in CHANGES])
def test_the_other_kept_reports_show_each_change_on_the_next_view(known, world, report, change):
    of, moved_by = KEPT_REPORTS[report]
    viewers = (world.manager, world.stats_unblind)  # pooled and by arm
    before = {}
    for viewer in viewers:
        before[viewer] = of(report_scope(viewer, world.trial))
        assert of(report_scope(viewer, world.trial)) == before[viewer]  # kept, and the same
    change(world, known)
    for viewer in viewers:
        scope = report_scope(viewer, world.trial)
        seen = of(scope)
        if change.__name__ in moved_by:
            assert seen != before[viewer]
        cache.clear()
        assert seen == of(scope)  # every figure is the one counted afresh


def counted_sites(monkeypatch) -> list[list[str]]:
    """The sites each view counted again (a record of the calls, the real count made)."""
    calls: list[list[str]] = []
    real = reports.quality._figures

    def recorded(scope, *args):
        calls.append([s.code for s in scope.sites])
        return real(scope, *args)

    monkeypatch.setattr(reports.quality, "_figures", recorded)
    return calls


def test_a_change_at_one_site_counts_that_site_again_and_no_other(known, world, monkeypatch):
    calls = counted_sites(monkeypatch)
    scope = report_scope(world.manager, world.trial)
    every = [s.code for s in scope.sites]
    assert {"BUC", "OXF"} <= set(every)
    quality_of(scope)
    assert calls == [every]
    with CaptureQueriesContext(connection) as nothing_changed:
        quality_of(scope)
    assert calls == [every]
    read = " ".join(q["sql"] for q in nothing_changed.captured_queries)
    assert "crf_response" not in read and "crf_query" not in read
    enter_a_form(world, known)
    quality_of(scope)
    assert calls == [every, ["BUC"]]


def test_each_view_keeps_its_own_filters_and_blinding(known, world, monkeypatch):
    calls = counted_sites(monkeypatch)
    everything = quality_of(report_scope(world.manager, world.trial))
    recent = quality_of(
        report_scope(world.manager, world.trial, start=today() - timedelta(days=180))
    )
    blinded = quality_of(report_scope(world.stats_blind, world.trial))
    assert len(calls) == 3  # none of them served another's figures
    assert recent.randomised < everything.randomised
    assert blinded.left_out and not everything.left_out


def test_a_site_with_an_event_waiting_to_be_sealed_is_counted_on_every_view(
    known, world, monkeypatch
):
    calls = counted_sites(monkeypatch)
    scope = report_scope(world.manager, world.trial)
    every = [s.code for s in scope.sites]
    quality_of(scope)
    # As batched sealing leaves an event between its commit and the sealer's run.
    AuditEvent.objects.create(
        seq=AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[0] + 1,
        at=timezone.now(),
        site_id=world.buc.pk,
        channel=Channel.COMMAND,
        event_type=EventType.RESPONSE_CHANGED,
    )
    marks = site_marks([world.buc.pk, world.oxf.pk])
    assert marks[world.buc.pk] is None and marks[world.oxf.pk]
    quality_of(scope)
    quality_of(scope)
    assert calls == [every, ["BUC"], ["BUC"]]


def test_an_unreachable_cache_costs_time_never_the_report(known, world, settings, caplog):
    scope = report_scope(world.manager, world.trial)
    expected = afresh(scope)
    # Nothing listens on port 9: every read and write of the cache fails.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert quality_of(scope).as_dict() == expected
    assert "Cache unreachable" in caplog.text


def test_the_nightly_count_leaves_the_days_first_views_nothing_to_count(known, world, monkeypatch):
    assert (
        settings.CELERY_BEAT_SCHEDULE["report-figures-nightly"]["task"] == keep_report_figures.name
    )
    calls = counted_sites(monkeypatch)
    assert keep_report_figures() == 1
    assert len(calls) == 2  # pooled, and by arm
    for viewer in (world.manager, world.stats_blind, world.coord_buc, world.monitor_buc):
        calls.clear()
        seen = quality_of(report_scope(viewer, world.trial)).as_dict()
        assert calls == []  # nothing left to count
        assert seen == afresh(report_scope(viewer, world.trial))
        keep_report_figures()


@pytest.mark.parametrize("report", KEPT_REPORTS)
def test_the_nightly_count_leaves_every_kept_report_nothing_to_count(known, world, report):
    of = KEPT_REPORTS[report][0]
    keep_report_figures()
    for viewer in (world.manager, world.stats_unblind, world.stats_blind, world.coord_buc):
        scope = report_scope(viewer, world.trial)
        with CaptureQueriesContext(connection) as read:
            seen = of(scope)
        counted_from = "crf_response" if report == "balance" else "trial_screeningrecord"
        assert counted_from not in " ".join(q["sql"] for q in read.captured_queries)
        cache.clear()
        assert seen == of(scope)  # as counted afresh
        keep_report_figures()
