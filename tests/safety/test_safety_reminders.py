"""The safety reminders' content and their place in Celery beat: a reminder names the family
by its trial identifier and links to the event; it never carries who the family's people are
(names, NHS numbers, dates of birth, address) nor the arm or the event's relatedness, which
can tell the arm. Beat runs the reminder hourly through a task the worker registers."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail

from config.celery import app
from core.channels import Channel
from core.clock import today
from randomisation.models import Allocation
from safety.models import SafetyEvent, SafetyReminder
from safety.reminders import safety_due_remind
from safety.services import sae_assess
from tests.access import family_at
from tests.crf.conftest import randomised
from tests.factories import PASSWORD
from trial.config import config_of

from .conftest import identity_texts, report

pytestmark = pytest.mark.django_db


def staff_emails(world) -> None:
    world.pi_buc.email, world.chief.email = "pi@example.org", "chief@example.org"
    for user in (world.pi_buc, world.chief):
        user.save()


def test_a_reminder_names_the_family_by_identifier_and_links_to_the_event_only(
    world, django_capture_on_commit_callbacks
):
    staff_emails(world)
    family = randomised(world)
    allocation = Allocation.objects.get(family=family)
    arm_label = config_of(family.trial).randomisation.arms[allocation.arm]
    names = identity_texts(family)
    assert {"Ava", "Morgan", "Jade", "9434765919"} <= set(names)  # the records hold them
    # Its PI's assessment overdue; the site's answers say it is probably related.
    unassessed = report(
        world,
        family,
        ago=timedelta(hours=30),
        late_reason="Jade Morgan told us at the weekend.",
        relatedness="probable",
        expectedness="unexpected",
        description="Ava Morgan was admitted from 12 Mill Lane.",
    )
    # Assessed as definitely related and unexpected: its ethics committee report due tomorrow.
    related = sae_assess(
        event=report(world, family, description="Jade Morgan was admitted."),
        seriousness=["hospitalisation"],
        relatedness="definite",
        expectedness="unexpected",
        password=PASSWORD,
        actor=world.pi_buc,
        channel=Channel.WEB,
    )
    SafetyEvent.objects.filter(pk=related.pk).update(rec_due_on=today() + timedelta(days=1))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert safety_due_remind() == 4  # two steps, to the PI and the chief investigator each
    links = {event.pk: f"{settings.SITE_URL}/safety/{event.pk}/" for event in (unassessed, related)}
    linked = []
    for sent in mail.outbox:
        # The trial's short name is ReConnect, as is one arm: what follows it must not say it.
        text = (sent.subject + "\n" + sent.body).replace(f"[{family.trial.short_name}]", "")
        assert family.identifier in sent.subject and family.identifier in sent.body
        linked += [pk for pk, link in links.items() if link in sent.body]
        for secret in names:
            assert secret not in text, f"{secret!r} in {sent.subject!r}"
        for revealing in (allocation.arm, arm_label, "RECONNECT", "USUAL", "Usual care"):
            assert revealing not in text
        for revealing in ("probabl", "definite", "unexpected", "relat", "admitted", "weekend"):
            assert revealing not in text.lower()
    assert sorted(linked) == sorted([unassessed.pk, unassessed.pk, related.pk, related.pk])
    assert any("assessment" in m.body for m in mail.outbox)
    assert any("ethics committee" in m.body for m in mail.outbox)


def test_beat_runs_the_safety_reminder_hourly_through_a_registered_task(
    world, django_capture_on_commit_callbacks
):
    entry = settings.CELERY_BEAT_SCHEDULE["safety-due-hourly"]
    assert entry["task"] == "safety.tasks.remind_safety_due"
    # Registered as the worker registers it: by autodiscovery, with no import of our own.
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert entry["schedule"].hour == set(range(24)) and entry["schedule"].minute == {15}
    # The task is the reminder: run as beat runs it, it reminds of an overdue step.
    staff_emails(world)
    report(world, family_at(world, "BUC"), ago=timedelta(hours=30), late_reason="Weekend.")
    with django_capture_on_commit_callbacks(execute=True):
        assert app.tasks[entry["task"]].apply().get() == 2
    assert SafetyReminder.objects.get().step == "assess"
