"""Exports through the API, the pages and the command: ask (a job), poll, download the
zip; a refusal is a 4xx naming the field or the lock and writes nothing."""

import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from dataset.models import Export
from dataset.services import data_lock
from tests.factories import PASSWORD

from .conftest import ready_family

pytestmark = pytest.mark.django_db


def written():
    return Export.objects.count(), AuditEvent.objects.count()


def test_ask_poll_and_download_a_bundle_through_the_api(
    world, api, django_capture_on_commit_callbacks
):
    ready_family(world)
    client = api(world.stats_blind)
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post("/api/v1/exports/", {"kind": "blinded", "interim": True}, format="json")
    assert asked.status_code == 202
    job = asked.json()
    assert job["kind"] == "blinded" and job["interim"] is True
    polled = client.get(f"/api/v1/exports/{job['id']}/").json()
    assert polled["status"] == "done" and polled["percent"] == 100
    assert polled["download"] == f"/api/v1/exports/{job['id']}/download/"
    got = client.get(polled["download"])
    assert got.status_code == 200 and got["Content-Type"] == "application/zip"
    assert f'filename="{polled["bundle_id"]}.zip"' in got["Content-Disposition"]
    data = b"".join(got.streaming_content)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("MANIFEST.json"))
    assert manifest["bundle_id"] == polled["bundle_id"] and manifest["kind"] == "blinded"
    listed = client.get("/api/v1/exports/").json()["results"]
    assert [e["id"] for e in listed] == [job["id"]]
    assert AuditEvent.objects.filter(event_type=EventType.EXPORT_DOWNLOADED).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"interim": True}, "kind"),
        ({"kind": "arms", "interim": True}, "kind"),
        ({"kind": "blinded"}, "interim"),
        ({"kind": "blinded", "interim": "perhaps"}, "interim"),
        ({"kind": "blinded", "interim": True, "population": "x" * 41}, "population"),
        ({"kind": "blinded", "interim": True, "population": "primary_outcome"}, "population"),
        ({"kind": "blinded", "interim": False, "population": "no_such"}, "population"),
        ({"kind": "blinded", "interim": False}, "interim"),
    ],
)
def test_a_malformed_or_refused_request_names_the_field_and_writes_nothing(world, api, body, field):
    before = written()
    answer = api(world.stats_blind).post("/api/v1/exports/", body, format="json")
    assert answer.status_code in (400, 409), answer.content
    assert field in answer.json()["error"]["fields"]
    assert written() == before


def test_an_unblinded_export_before_the_plan_is_a_409_naming_the_plan(world, api):
    ready_family(world)
    data_lock(trial=world.trial, actor=world.stats_blind, channel=Channel.WEB, password=PASSWORD)
    before = written()
    answer = api(world.stats_unblind).post(
        "/api/v1/exports/", {"kind": "unblinded", "interim": False}, format="json"
    )
    assert answer.status_code == 409 and "plan" in answer.json()["error"]["fields"]
    assert written() == before


def test_the_export_pages_ask_show_the_progress_and_download(
    world, client, django_capture_on_commit_callbacks
):
    ready_family(world)
    client.force_login(world.stats_unblind)
    page = client.get("/exports/")
    assert page.status_code == 200
    assert b'value="unblinded"' in page.content  # the unblinded statistician may choose it
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post("/exports/", {"kind": "unblinded", "interim": "on"})
    export = Export.objects.get()
    assert asked.status_code == 302 and asked["Location"] == f"/exports/{export.pk}/"
    shown = client.get(f"/exports/{export.pk}/")
    assert b"Ready" in shown.content and export.sha256 in shown.content.decode()
    partial = client.get(f"/exports/{export.pk}/", HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b'data-testid="export-progress"' in partial.content
    got = client.get(f"/exports/{export.pk}/download/")
    assert got.status_code == 200 and b"".join(got.streaming_content)[:2] == b"PK"


def test_a_refused_export_on_the_page_says_why_beside_the_form(world, client):
    client.force_login(world.stats_unblind)
    before = written()
    answer = client.post("/exports/", {"kind": "unblinded"})
    assert answer.status_code == 200
    assert "not locked" in answer.content.decode()
    assert written() == before


def test_a_blinded_statistician_is_not_offered_the_unblinded_export(world, client):
    client.force_login(world.stats_blind)
    page = client.get("/exports/")
    assert b'value="blinded"' in page.content and b'value="unblinded"' not in page.content
    answer = client.post("/exports/", {"kind": "unblinded", "interim": "on"})
    assert answer.status_code == 200 and b"Select a valid choice" in answer.content
    assert not Export.objects.exists()


def test_the_command_builds_the_same_bundle_as_the_page(world, tmp_path, capsys):
    ready_family(world)
    out = tmp_path / "bundle.zip"
    call_command("data_export", "--as", "stats.blind", "--interim", "--out", str(out))
    printed = capsys.readouterr().out
    export = Export.objects.get()
    assert str(out) in printed and export.sha256 in printed and export.manifest_sha256 in printed
    assert zipfile.ZipFile(out).read("MANIFEST.json")
    assert AuditEvent.objects.get(event_type=EventType.EXPORT_REQUESTED).channel == "command"
    with pytest.raises(CommandError, match="not locked"):
        call_command("data_export", "--as", "stats.blind")
    with pytest.raises(CommandError, match="unblinded statistician"):
        call_command("data_export", "--as", "stats.blind", "--unblinded", "--interim")
    assert Export.objects.count() == 1
