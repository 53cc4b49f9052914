"""The DMC report: who may generate and download each part, the job that builds its PDF (its
progress, its SHA-256 in the ledger, a failure recorded not raised), the pages and the API,
and what the open PDF never shows (an arm)."""

import hashlib
import io
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from audit.events import EventType
from audit.models import AuditEvent
from core.channels import Channel
from core.errors import NotPermitted, TrialError
from core.roles import Role
from reports import dmc
from reports.dmc import (
    CLOSED_MARK,
    dmc_report_build,
    dmc_report_download,
    dmc_report_request,
    dmc_reports_visible_to,
)
from reports.models import DmcReport
from tests.crf.conftest import randomised
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

# (account, may generate the open part, may generate the closed part)
RULES = [
    ("manager", True, False),
    ("coord.buc", False, False),
    ("assessor.buc", False, False),
    ("monitor.buc", False, False),
    ("pi.buc", False, False),
    ("stats.blind", True, False),
    ("stats.unblind", True, True),
    # The chief investigator reads the trial's reports but asks for no DMC report.
    ("chief", False, False),
    ("outsider", False, False),
]
# Words from which an arm follows: the arms' labels and codes in the definition.
ARM_WORDS = ("ReConnect", "Usual care", "RECONNECT", "USUAL")


@pytest.fixture(autouse=True)
def _own_folder(settings, tmp_path):
    # Each test's PDFs in a folder of its own: record ids repeat between tests.
    settings.REPORT_ROOT = tmp_path / "reports"


@pytest.fixture
def trial(world):
    # A neutral name, so that an arm's label in a PDF can only have come from an arm.
    world.trial.short_name, world.trial.name = "Trial RC", "A trial of two services"
    world.trial.save()
    return world.trial


@pytest.fixture
def families(world, trial):
    return [randomised(world, "BUC"), randomised(world, "OXF")]


def ask(world, who: str, part: str, capture, *, build: bool = True) -> DmcReport:
    with capture(execute=build):
        report = dmc_report_request(
            trial=world.trial, actor=world.users[who], channel=Channel.WEB, part=part
        )
    report.refresh_from_db()
    return report


def pdf_text(report: DmcReport) -> str:
    path = Path(settings.REPORT_ROOT) / report.file_name
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


# Read with poppler's tools: skipped (and said) where poppler-utils is missing; CI needs it.
needs_pdftotext = pytest.mark.pdf


@pytest.mark.parametrize(("who", "may_open", "may_closed"), RULES)
@pytest.mark.parametrize("part", ["open", "closed"])
def test_who_may_generate_each_part(
    world, trial, who, may_open, may_closed, part, django_capture_on_commit_callbacks
):
    allowed = may_open if part == "open" else may_closed
    before = AuditEvent.objects.count()
    if not allowed:
        with pytest.raises(NotPermitted):
            ask(world, who, part, django_capture_on_commit_callbacks, build=False)
        assert DmcReport.objects.count() == 0 and AuditEvent.objects.count() == before
        return
    report = ask(world, who, part, django_capture_on_commit_callbacks, build=False)
    assert (report.part, report.status, report.requested_by.username) == (part, "queued", who)
    event = AuditEvent.objects.get(event_type=EventType.DMC_REPORT_REQUESTED)
    assert (event.object_id, event.actor_username, event.channel) == (str(report.pk), who, "web")


def test_an_unblinded_statistician_blinded_at_a_site_may_not_generate_the_closed_part(
    world, trial, django_capture_on_commit_callbacks
):
    MembershipFactory(
        user=world.stats_unblind,
        trial=world.trial,
        site=world.oxf,
        role=Role.OUTCOME_ASSESSOR,
        starts_on=world.start,
    )
    with pytest.raises(NotPermitted, match="closed report"):
        ask(world, "stats.unblind", "closed", django_capture_on_commit_callbacks, build=False)
    assert ask(world, "stats.unblind", "open", django_capture_on_commit_callbacks, build=False)


def test_a_part_that_is_neither_is_refused_naming_the_field(world, trial):
    with pytest.raises(TrialError) as refused:
        dmc_report_request(
            trial=world.trial, actor=world.manager, channel=Channel.WEB, part="secret"
        )
    assert refused.value.field == "part"
    assert DmcReport.objects.count() == 0


@needs_pdftotext
def test_the_job_builds_the_open_pdf_and_the_ledger_holds_its_sha256(
    world, families, django_capture_on_commit_callbacks
):
    report = ask(world, "stats.unblind", "open", django_capture_on_commit_callbacks)
    assert report.status == DmcReport.Status.DONE, report.error
    assert report.percent == 100 and report.done_steps == report.total_steps > 0
    path = Path(settings.REPORT_ROOT) / report.file_name
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert report.size == len(data)
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    event = AuditEvent.objects.get(event_type=EventType.DMC_REPORT_GENERATED)
    assert event.object_id == str(report.pk) and event.channel == "task"
    assert event.changes["sha256"] == [None, report.sha256]
    text = pdf_text(report)
    assert "Open report" in text and "Trial RC" in text
    assert world.stats_unblind.username in text or world.stats_unblind.get_full_name() in text
    assert "CONSORT flow diagram" in text and "Assessed for eligibility" in text
    assert "Data quality" in text and "Out of window" in text
    assert "Recruitment" in text and "Progress against the target" in text
    assert "Serious adverse events" in text
    # Pooled, even though the unblinded statistician who made it may see the arms.
    assert [w for w in ARM_WORDS if w.lower() in text.lower()] == []
    assert CLOSED_MARK not in text
    # Pooled because it is the open report, not because its reader is blinded; and no
    # number is a link, which would lead nowhere on paper.
    flat = " ".join(text.split())
    assert "this is the open report" in flat and "you are blinded" not in flat
    links = subprocess.run(
        ["pdfinfo", "-url", str(path)], check=True, capture_output=True, text=True
    ).stdout
    assert "Annotation" not in links, links


@needs_pdftotext
def test_the_closed_pdf_is_marked_closed_on_every_page(
    world, families, django_capture_on_commit_callbacks
):
    report = ask(world, "stats.unblind", "closed", django_capture_on_commit_callbacks)
    assert report.status == DmcReport.Status.DONE, report.error
    pages = [p for p in pdf_text(report).split("\f") if p.strip()]
    assert len(pages) >= 3  # the cover, the open part, the closed part
    assert all(CLOSED_MARK in p for p in pages)
    text = "\f".join(pages)
    opened, closed = text.split("Closed part: by arm", 1)
    # The open part first, pooled; then the arms compared, named by their labels.
    assert "Assessed for eligibility" in opened and "Data quality" in opened
    assert [w for w in ARM_WORDS if w.lower() in opened.lower()] == []
    for heading in ("Baseline characteristics", "Allocations by stratification factor"):
        assert heading in closed
    assert "Primary outcome so far" in closed and "Serious adverse events by arm" in closed
    assert "ReConnect" in closed and "Usual care" in closed


@pytest.mark.pdf
def test_the_first_page_is_not_blank(world, families, django_capture_on_commit_callbacks):
    from PIL import Image

    report = ask(world, "manager", "open", django_capture_on_commit_callbacks)
    path = Path(settings.REPORT_ROOT) / report.file_name
    png = subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    image = Image.open(io.BytesIO(png)).convert("L")
    dark = sum(image.histogram()[:200])  # pixels darker than light grey
    assert image.size[0] > 100 and dark > 200


def test_a_failed_build_is_recorded_as_failed_not_raised(
    world, trial, client, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(template, context):
        raise RuntimeError("no fonts on this machine")

    monkeypatch.setattr(dmc, "pdf_of", broken)
    client.force_login(world.manager)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("dmc-report-create"), {"part": "open"})
    assert answer.status_code == 302
    report = DmcReport.objects.get()
    assert report.status == DmcReport.Status.FAILED
    assert "no fonts on this machine" in report.error and report.finished_at
    assert not report.sha256 and not report.file_name
    failed = AuditEvent.objects.get(event_type=EventType.DMC_REPORT_FAILED)
    assert failed.object_id == str(report.pk) and "no fonts" in failed.reason
    page = client.get(answer["Location"])
    assert page.status_code == 200 and "could not be made" in page.content.decode()
    assert client.get(reverse("dmc-report-download", args=[report.pk])).status_code == 409


def test_a_job_delivered_twice_builds_once(world, trial, django_capture_on_commit_callbacks):
    report = ask(world, "manager", "open", django_capture_on_commit_callbacks)
    again = dmc_report_build(report.pk)
    assert again.sha256 == report.sha256
    assert AuditEvent.objects.filter(event_type=EventType.DMC_REPORT_GENERATED).count() == 1


def test_the_closed_report_is_not_built_for_a_statistician_no_longer_unblinded(
    world, trial, django_capture_on_commit_callbacks
):
    report = ask(world, "stats.unblind", "closed", django_capture_on_commit_callbacks, build=False)
    MembershipFactory(
        user=world.stats_unblind,
        trial=world.trial,
        site=None,
        role=Role.STATISTICIAN_BLINDED,
        starts_on=world.start,
    )
    built = dmc_report_build(report.pk)
    assert built.status == DmcReport.Status.FAILED and "arms compared" in built.error
    assert not list(Path(settings.REPORT_ROOT).glob(f"*-closed-{report.pk}.pdf"))


def test_each_download_is_in_the_ledger(
    world, trial, client, api, django_capture_on_commit_callbacks
):
    report = ask(world, "stats.blind", "open", django_capture_on_commit_callbacks)
    client.force_login(world.manager)
    got = client.get(reverse("dmc-report-download", args=[report.pk]))
    assert got.status_code == 200 and got["Content-Type"] == "application/pdf"
    assert b"".join(got.streaming_content).startswith(b"%PDF")
    got = api(world.stats_unblind).get(f"/api/v1/reports/dmc/{report.pk}/download/")
    assert got.status_code == 200 and got["Content-Type"] == "application/pdf"
    events = AuditEvent.objects.filter(event_type=EventType.DMC_REPORT_DOWNLOADED).order_by("seq")
    assert [(e.actor_username, e.channel, e.changes["sha256"][1]) for e in events] == [
        ("manager", "web", report.sha256),
        ("stats.unblind", "api", report.sha256),
    ]


def test_the_service_refuses_a_download_to_a_role_that_may_not_generate_the_part(
    world, trial, django_capture_on_commit_callbacks
):
    closed = ask(world, "stats.unblind", "closed", django_capture_on_commit_callbacks)
    opened = ask(world, "manager", "open", django_capture_on_commit_callbacks)
    for who, report in (("stats.blind", closed), ("manager", closed), ("coord.buc", opened)):
        with pytest.raises(NotPermitted):
            dmc_report_download(report=report, actor=world.users[who], channel=Channel.WEB)
    assert not AuditEvent.objects.filter(event_type=EventType.DMC_REPORT_DOWNLOADED).exists()


@pytest.mark.parametrize("who", ["stats.blind", "manager", "coord.buc", "assessor.buc"])
def test_a_closed_report_is_not_found_for_a_viewer_who_may_not_see_closed(
    world, trial, client, api, who, django_capture_on_commit_callbacks
):
    report = ask(world, "stats.unblind", "closed", django_capture_on_commit_callbacks)
    user = world.users[who]
    client.force_login(user)
    assert client.get(reverse("dmc-report", args=[report.pk])).status_code == 404
    assert client.get(reverse("dmc-report-download", args=[report.pk])).status_code == 404
    caller = api(user)
    assert caller.get(f"/api/v1/reports/dmc/{report.pk}/").status_code == 404
    assert caller.get(f"/api/v1/reports/dmc/{report.pk}/download/").status_code == 404
    if who in ("stats.blind", "manager"):
        assert caller.get("/api/v1/reports/dmc/").json()["results"] == []
    assert not dmc_reports_visible_to(user).exists()


def test_the_list_offers_each_viewer_what_they_may_make(world, trial, client):
    offers = {}
    for who in ("manager", "stats.blind", "stats.unblind", "coord.buc", "monitor.buc", "pi.buc"):
        client.force_login(world.users[who])
        page = client.get(reverse("dmc-reports"))
        assert page.status_code == 200
        html = page.content.decode()
        offers[who] = (
            'data-testid="make-open"' in html,
            'data-testid="make-closed"' in html,
            'data-testid="dmc-not-yours"' in html,
        )
    assert offers == {
        "manager": (True, False, False),
        "stats.blind": (True, False, False),
        "stats.unblind": (True, True, False),
        "coord.buc": (False, False, True),
        "monitor.buc": (False, False, True),
        "pi.buc": (False, False, True),
    }


@pytest.mark.parametrize(("who", "part"), [("coord.buc", "open"), ("manager", "closed")])
def test_a_post_for_a_part_the_viewer_may_not_make_is_a_403(world, trial, client, who, part):
    client.force_login(world.users[who])
    assert client.post(reverse("dmc-report-create"), {"part": part}).status_code == 403
    assert DmcReport.objects.count() == 0


def test_a_bad_part_on_the_page_is_a_400_that_says_why(world, trial, client):
    client.force_login(world.manager)
    answer = client.post(reverse("dmc-report-create"), {"part": "secret"})
    assert answer.status_code == 400 and "open or the closed" in answer.content.decode()


def test_the_page_shows_progress_then_the_download(
    world, trial, client, django_capture_on_commit_callbacks
):
    client.force_login(world.stats_unblind)
    report = ask(world, "stats.unblind", "closed", django_capture_on_commit_callbacks, build=False)
    waiting = client.get(reverse("dmc-report", args=[report.pk]), HTTP_HX_REQUEST="true")
    html = waiting.content.decode()
    assert 'hx-trigger="every 1s"' in html and "Queued" in html and "<html" not in html
    dmc_report_build(report.pk)
    report.refresh_from_db()
    html = client.get(reverse("dmc-report", args=[report.pk])).content.decode()
    assert "hx-get" not in html and report.sha256 in html
    assert reverse("dmc-report-download", args=[report.pk]) in html
    listed = client.get(reverse("dmc-reports")).content.decode()
    assert reverse("dmc-report", args=[report.pk]) in listed


def test_the_api_asks_polls_and_refuses(world, trial, api, django_capture_on_commit_callbacks):
    caller = api(world.stats_unblind)
    with django_capture_on_commit_callbacks(execute=True):
        asked = caller.post("/api/v1/reports/dmc/", {"part": "closed"}, format="json")
    assert asked.status_code == 202
    job = asked.json()
    assert (job["part"], job["trial"], job["requested_by"]) == ("closed", "RC", "stats.unblind")
    polled = caller.get(f"/api/v1/reports/dmc/{job['id']}/").json()
    assert polled["status"] == "done" and polled["percent"] == 100
    assert polled["download"] == f"/api/v1/reports/dmc/{job['id']}/download/"
    assert polled["sha256"] == DmcReport.objects.get().sha256
    assert [r["id"] for r in caller.get("/api/v1/reports/dmc/").json()["results"]] == [job["id"]]

    bad = caller.post("/api/v1/reports/dmc/", {"part": "secret"}, format="json")
    assert bad.status_code == 400 and "part" in str(bad.json())
    refused = api(world.manager).post("/api/v1/reports/dmc/", {"part": "closed"}, format="json")
    assert refused.status_code == 403
    assert (
        api(world.coord_buc)
        .post("/api/v1/reports/dmc/", {"part": "open"}, format="json")
        .status_code
        == 403
    )
    assert DmcReport.objects.count() == 1


def test_the_api_is_in_the_openapi_schema(world, api):
    schema = api(world.manager).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "post" in paths["/api/v1/reports/dmc/"]
    assert "get" in paths["/api/v1/reports/dmc/{report_id}/"]
    download = paths["/api/v1/reports/dmc/{report_id}/download/"]["get"]
    assert "application/pdf" in download["responses"]["200"]["content"]
    assert "DmcReportOut" in schema["components"]["schemas"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("celery-broker")
def test_the_dmc_report_is_built_by_a_worker(world):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.control.purge()
    try:
        with start_worker(
            app, perform_ping_check=False, pool="solo", concurrency=1, loglevel="WARNING"
        ):
            report = dmc_report_request(
                trial=world.trial, actor=world.manager, channel=Channel.WEB, part="open"
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                report.refresh_from_db()
                if report.status in (DmcReport.Status.DONE, DmcReport.Status.FAILED):
                    break
                time.sleep(0.2)
    finally:
        app.conf.task_always_eager = eager
    assert report.status == DmcReport.Status.DONE, report.error
    data = (Path(settings.REPORT_ROOT) / report.file_name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == report.sha256
    event = AuditEvent.objects.get(event_type=EventType.DMC_REPORT_GENERATED)
    assert event.channel == "task" and event.changes["sha256"][1] == report.sha256
