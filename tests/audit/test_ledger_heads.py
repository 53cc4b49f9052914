"""The ledger's head published each night outside the database (a file line and an email to
the trial managers), and audit_verify checking the ledger against every head published: a
full rewrite of the chain verifies on its own but not against an earlier head."""

import io
import json

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit import triggers
from audit.chain import link_hash
from audit.models import AuditEvent, ChainHead
from core.channels import Channel
from review.tasks import ledger_head_publish_nightly
from sites.lifecycle import site_update


@pytest.fixture
def heads_dir(settings, tmp_path):
    settings.LEDGER_HEAD_DIR = tmp_path / "ledger-heads"
    return settings.LEDGER_HEAD_DIR


def change_target(world, target: int) -> None:
    site_update(site=world.mkn, actor=world.manager, channel=Channel.API, recruitment_target=target)


def verify(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
        return 0, out.getvalue()
    except SystemExit as exit_:
        return exit_.code, err.getvalue()


def publish(django_capture_on_commit_callbacks) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return ledger_head_publish_nightly()


def rewrite_chain_from(seq: int, reason: str) -> None:
    """What a database owner who knows the chaining does: change one event, recompute every
    hash after it and the head row, so that the chain alone verifies."""
    triggers.remove(connection)
    prev = AuditEvent.objects.get(seq=seq).prev_hash
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        if event.seq == seq:
            event.reason = reason
        event.prev_hash, event.hash = prev, link_hash(prev, event.chained_fields())
        AuditEvent.objects.filter(seq=event.seq).update(
            reason=event.reason, prev_hash=event.prev_hash, hash=event.hash
        )
        prev = event.hash
    ChainHead.objects.filter(pk=1).update(last_hash=prev)
    triggers.install(connection)


def test_the_nightly_task_writes_emails_and_records_the_head(
    world, heads_dir, django_capture_on_commit_callbacks
):
    change_target(world, 31)
    head = ChainHead.objects.get(pk=1)
    assert publish(django_capture_on_commit_callbacks) == head.last_seq

    [path] = heads_dir.iterdir()
    assert path.name.startswith("ledger-head-") and path.suffix == ".jsonl"
    line = json.loads(path.read_text().splitlines()[-1])
    assert (line["seq"], line["hash"]) == (head.last_seq, head.last_hash)
    assert line["at"].endswith("+00:00")

    event = AuditEvent.objects.get(event_type="ledger_head_published")
    assert (event.channel, event.actor_username) == ("task", "system:task")
    assert event.changes == {
        "head_seq": [None, head.last_seq],
        "head_hash": [None, head.last_hash],
        "file": [None, path.name],
    }
    sent = AuditEvent.objects.filter(event_type="notification_sent", seq__gt=event.seq)
    assert [e.changes["recipient"][1] for e in sent] == [world.manager.email]
    [email] = mail.outbox
    assert email.to == [world.manager.email]
    assert f"#{head.last_seq}" in email.subject
    assert f"--expect-head {head.last_seq}:{head.last_hash}" in email.body


def test_each_night_appends_a_line_to_the_days_file(
    world, heads_dir, django_capture_on_commit_callbacks
):
    change_target(world, 31)
    first = publish(django_capture_on_commit_callbacks)
    change_target(world, 32)
    second = publish(django_capture_on_commit_callbacks)
    [path] = heads_dir.iterdir()
    assert [json.loads(t)["seq"] for t in path.read_text().splitlines()] == [first, second]
    assert second > first


@pytest.mark.requirement("AUD-2")
def test_the_ledger_verifies_against_every_published_head(
    world, heads_dir, django_capture_on_commit_callbacks
):
    change_target(world, 31)
    publish(django_capture_on_commit_callbacks)
    change_target(world, 32)
    last = publish(django_capture_on_commit_callbacks)
    code, out = verify("--head-file", str(heads_dir))
    assert code == 0, out
    assert f"2 published heads match, the latest #{last}" in out


@pytest.mark.requirement("AUD-2")
def test_a_rewritten_chain_verifies_alone_but_not_against_a_published_head(
    world, heads_dir, django_capture_on_commit_callbacks
):
    for target in range(31, 36):
        change_target(world, target)
    published = publish(django_capture_on_commit_callbacks)
    change_target(world, 36)
    victim = AuditEvent.objects.filter(event_type="update").order_by("seq")[2].seq
    assert victim < published

    rewrite_chain_from(victim, reason="rewritten")

    assert verify()[0] == 0  # the chain alone cannot tell
    [path] = heads_dir.iterdir()
    code, err = verify("--head-file", str(path))
    assert code == 1
    assert f"BROKEN at event #{published}: event #{published} does not match its anchor" in err
    assert f"{path}:1" in err


@pytest.mark.requirement("AUD-2")
def test_events_cut_from_the_end_with_the_head_row_rewritten_are_caught(
    world, heads_dir, django_capture_on_commit_callbacks
):
    change_target(world, 31)
    change_target(world, 32)
    published = publish(django_capture_on_commit_callbacks)
    keep = published - 1
    kept = AuditEvent.objects.get(seq=keep)
    triggers.remove(connection)
    AuditEvent.objects.filter(seq__gt=keep).delete()
    ChainHead.objects.filter(pk=1).update(last_seq=keep, last_hash=kept.hash)
    triggers.install(connection)
    assert verify()[0] == 0
    code, err = verify("--head-file", str(heads_dir))
    assert code == 1 and f"event #{published}, anchored outside the database, is missing" in err


def test_a_line_that_is_not_a_head_is_refused_naming_file_and_line(world, tmp_path):
    path = tmp_path / "ledger-head-2026-01-01.jsonl"
    path.write_text('{"seq": 1, "hash": "' + "a" * 64 + '"}\n\nnot json\n')
    with pytest.raises(CommandError, match=rf"--head-file: {path}:3: not a published head"):
        call_command("audit_verify", "--head-file", str(path))
    with pytest.raises(CommandError, match="no such file"):
        call_command("audit_verify", "--head-file", str(tmp_path / "missing.jsonl"))


def test_an_empty_ledger_publishes_nothing(db, heads_dir):
    assert ledger_head_publish_nightly() is None
    assert not heads_dir.exists()


def test_the_publication_is_scheduled_after_the_nightly_verification(settings):
    verify_entry = settings.CELERY_BEAT_SCHEDULE["audit-verify-nightly"]["schedule"]
    entry = settings.CELERY_BEAT_SCHEDULE["ledger-head-nightly"]
    assert entry["task"] == "review.tasks.ledger_head_publish_nightly"
    assert (entry["schedule"].hour, verify_entry.hour) == ({2}, {2})
    assert min(entry["schedule"].minute) > max(verify_entry.minute)
