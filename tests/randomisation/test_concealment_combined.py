"""A person who holds a blinded role never learns an arm, whatever other role they also hold
at that site. Each blinded role is paired with every other role, and the person is walked
through every page and API endpoint (the GET rows of both permission matrices, which cover
every route), the audit CSVs and the emails of the trial. The trial holds what tells an arm
beyond the allocation itself: a form that reveals it, a serious adverse event assessed as
related to the intervention, and a deviation of a kind that tells it (contamination).

The pairs are made directly in the database, as if granted before the grant rule refused
them (tests/sites/test_blinding_grants.py): concealment must hold for them even so."""

import io
import shutil
import subprocess
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.channels import Channel
from core.clock import today
from core.roles import BLINDED_ROLES, TRIAL_WIDE_ROLES, Role
from crf.entry import response_change
from crf.notifications import overdue_remind
from crf.queries import query_answer, query_raise
from crf.signatures import casebook_sign
from randomisation.models import Allocation
from randomisation.notifications import randomised_notify
from review.selectors import events_visible_to
from safety.models import SafetyEvent
from safety.notifications import sae_reported_notify
from safety.services import sae_assess, sae_review
from tests.api.test_permissions_matrix import ENDPOINTS
from tests.pages.test_permissions_matrix import PAGES
from tests.safety.conftest import report
from trial.breach_reminders import serious_breaches_remind
from trial.deviations import deviation_record
from trial.models import ProtocolDeviation

from ..access import crf_family, crf_response, sealed_test_list
from ..factories import PASSWORD, MembershipFactory, UserFactory

# Words that would tell an arm: its codes and labels, the arm's marker on pages, and the
# markers planted below in a form that reveals the arm (its values' keys, a change's reason,
# a query's text), in a serious adverse event judged related to the intervention (the safety
# form's description, the chief investigator's note on relatedness: the safety form and its
# events are hidden where the reader is blinded) and in a contamination deviation (its
# description: the kinds that tell the arm are hidden from readers blinded at the site).
ARM_TEXTS = ["RECONNECT", "USUAL", "Usual care", 'data-testid="arm"']
MARKERS = [
    "sessions_",
    "LEAK-REASON-7Q",
    "LEAK-QUERY-7Q",
    "LEAK-SAE-7Q",
    "LEAK-RELATED-7Q",
    "LEAK-DEVIATION-7Q",
]
# Emails add the names of what tells the arm: the forms, and the deviation's kind (a serious
# breach reminder names it, to those not blinded at the site only).
EMAIL_MARKERS = [*ARM_TEXTS, *MARKERS, "Intervention receipt", "Service use", "contamination"]

PDFTOTEXT = shutil.which("pdftotext")
BLINDED = sorted(BLINDED_ROLES)
PAIRS = sorted(
    {
        tuple(sorted((blinded, other)))
        for blinded in BLINDED
        for other in Role.values
        if other != blinded
    }
)
CASES = [(role,) for role in BLINDED] + PAIRS


def person(world, roles) -> object:
    """One account holding each role at BUC (or trial-wide, for the trial-wide roles)."""
    user = UserFactory(username="both." + "+".join(roles))
    for role in roles:
        site = None if role in TRIAL_WIDE_ROLES else world.buc
        MembershipFactory(user=user, trial=world.trial, site=site, role=role, starts_on=world.start)
    world.users[user.username] = user
    return user


def leaky_trial(world, people):
    """A BUC family randomised long enough ago that its 6-month forms are overdue, with an
    intervention receipt entered, signed, changed (with a reason) and queried, a serious
    adverse event assessed and reviewed as probably related, and a contamination deviation
    flagged as a possible serious breach due tomorrow; the emails of randomisation, of the
    overdue forms, of the event's report, of the breach's reminder and of everything else
    go to `people`."""
    family = crf_family(world)
    receipt = crf_response(world, "intervention_receipt")
    crf_response(world)  # a CORE-10, which blinded people may see
    casebook_sign(
        family=family,
        actor=world.pi_buc,
        password=PASSWORD,
        meaning="reviewed",
        channel=Channel.COMMAND,
    )
    values = dict(receipt.values)
    # A different count, within the form's range whatever the generated answer was.
    values["sessions_1"] = 2 if values.get("sessions_1") == 1 else 1
    response_change(
        response=receipt,
        values=values,
        reason="LEAK-REASON-7Q sessions recounted from the diary",
        actor=world.coord_buc,
        channel=Channel.COMMAND,
    )
    query = query_raise(
        response=receipt,
        field="sessions_2",
        text="LEAK-QUERY-7Q please check the group sessions",
        actor=world.monitor_buc,
        channel=Channel.COMMAND,
    )
    query_answer(query=query, text="Checked.", actor=world.coord_buc, channel=Channel.COMMAND)
    event = report(
        world,
        family,
        relatedness="probable",
        expectedness="unexpected",
        description="LEAK-SAE-7Q admitted overnight after a group session",
    )
    sae_assess(
        event=event,
        seriousness=["hospitalisation"],
        relatedness="probable",
        expectedness="unexpected",
        password=PASSWORD,
        actor=world.pi_buc,
        channel=Channel.COMMAND,
    )
    sae_review(
        event=event,
        relatedness="probable",
        expectedness="unexpected",
        note="LEAK-RELATED-7Q probably related: it followed the home visits",
        actor=world.chief,
        channel=Channel.COMMAND,
    )
    deviation = deviation_record(
        family=family,
        kind=ProtocolDeviation.Kind.CONTAMINATION,
        severity="major",
        occurred_on=today(),
        description="LEAK-DEVIATION-7Q the family joined the other arm's group",
        possible_serious_breach=True,
        actor=world.coord_buc,
        channel=Channel.COMMAND,
    )
    ProtocolDeviation.objects.filter(pk=deviation.pk).update(
        breach_due_at=timezone.now() + timedelta(days=1)
    )
    # Past the 6-month window: the service use form not entered is now overdue.
    allocation = Allocation.objects.get(family=family)
    Allocation.objects.filter(pk=allocation.pk).update(
        randomised_at=allocation.randomised_at - timedelta(days=70)
    )
    mail.outbox.clear()
    # Emails leave once their transaction commits: run what each queues, or none is sent.
    with TestCase.captureOnCommitCallbacks(execute=True):
        randomised_notify(allocation_id=allocation.pk)
        overdue_remind()
        sae_reported_notify(event_id=event.pk)
        serious_breaches_remind()
    return family, allocation


def texts_to_find(where: str) -> list[str]:
    # The form definitions hold the arm codes as the choices of the assessor's guess of the
    # arm: a question, not a family's answer. So do a blinded export's dictionary and ODM
    # code lists (its data hold the guess as a code; tests/dataset checks it has no arm).
    if where in ("API forms", "API form") or "download" in where:
        return MARKERS
    return [*ARM_TEXTS, *MARKERS]


def body(response) -> str:
    if getattr(response, "streaming", False):
        data = b"".join(response.streaming_content)
        if response.get("Content-Type") == "application/zip":
            # An export bundle: every file in it.
            bundle = zipfile.ZipFile(io.BytesIO(data))
            return "\n".join(
                bundle.read(name).decode("utf-8", errors="replace") for name in bundle.namelist()
            )
        if response.get("Content-Type") == "application/pdf":
            return pdf_text(data)
        return data.decode()
    if response.get("Content-Type") == "application/pdf":
        return pdf_text(response.content)
    return response.content.decode()


def pdf_text(data: bytes) -> str:
    """A PDF's text, as a reader would see it (poppler's pdftotext): its streams are
    compressed, so the bytes themselves would hide a leak. Without poppler (CI installs
    it) the PDFs are left to tests/reports/test_dmc.py, which then says it skipped."""
    if not PDFTOTEXT:
        return ""
    found = subprocess.run([PDFTOTEXT, "-q", "-", "-"], input=data, capture_output=True, check=True)
    return found.stdout.decode("utf-8", errors="replace")


def walk(world, user, allocation) -> dict[str, str]:
    """Everything the person can read: every GET of both matrices, the audit trail's CSVs
    and filtered views, and the randomise answers (idempotent: the same allocation)."""
    api, page = APIClient(), Client()
    api.force_authenticate(user)
    page.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    family = allocation.family
    # The family's safety events and deviations, each by itself (the matrices' rows open
    # ones of their own).
    events = list(SafetyEvent.objects.filter(family=family).values_list("pk", flat=True))
    deviations = list(family.deviations.values_list("pk", flat=True))
    seen = {}
    # One site's walk: OXF's rows would randomise an OXF family, whose arm a person
    # unblinded at OXF may see (blinding is per site); the scoping walks cover OXF.
    for name, (method, url, _body, _expected) in ENDPOINTS.items():
        if method == "get" and not name.startswith("OXF"):
            seen[f"API {name}"] = body(api.get(url(world)))
    for name, (method, url, _body, _expected) in PAGES.items():
        if method == "get" and not name.startswith("OXF"):
            seen[f"page {name}"] = body(page.get(url(world)))
    for path in [
        "/api/v1/audit/events/?event_type=randomised",
        f"/api/v1/audit/events/?family={family.identifier}",
        "/api/v1/audit/events/?field=values.sessions_1",
        "/api/v1/audit/events/export/",
        f"/api/v1/audit/events/export/?family={family.identifier}",
        f"/api/v1/families/{family.pk}/responses/?form=intervention_receipt",
        f"/api/v1/families/{family.pk}/responses/?form=sae",
        f"/api/v1/families/{family.pk}/safety-events/",
        "/api/v1/safety/events/?relatedness=probable",
        "/api/v1/deviations/?kind=contamination",
        *(f"/api/v1/safety/events/{pk}/" for pk in events),
    ]:
        seen[f"API {path}"] = body(api.get(path))
    for path in [
        "/audit/?event_type=randomised",
        f"/audit/?family={family.identifier}",
        "/audit/export.csv",
        f"/families/{family.pk}/allocations/{allocation.pk}/",
        f"/families/{family.pk}/",
        "/safety/?relatedness=probable&format=csv",
        "/deviations/?kind=contamination",
        *(f"/safety/{pk}/" for pk in events),
        *(f"/deviations/{pk}/" for pk in deviations),
    ]:
        seen[f"page {path}"] = body(page.get(path))
    seen["API POST randomise"] = body(api.post(f"/api/v1/families/{family.pk}/randomise/"))
    return seen


@pytest.mark.parametrize("roles", CASES, ids=["+".join(c) for c in CASES])
@pytest.mark.requirement("RND-1")
def test_a_blinded_person_learns_no_arm_whatever_else_they_hold(world, roles):
    sealed_test_list(world)
    user = person(world, roles)
    _family, allocation = leaky_trial(world, [user])
    seen = walk(world, user, allocation)
    leaked = {
        where: found
        for where, text in seen.items()
        if (found := [t for t in texts_to_find(where) if t in text])
    }
    assert leaked == {}
    emails = [m for m in mail.outbox if user.email in m.to]
    told = [t for m in emails for t in EMAIL_MARKERS if t in m.subject + m.body]
    assert told == []


@pytest.mark.parametrize("roles", CASES, ids=["+".join(c) for c in CASES])
def test_the_audit_trail_shows_the_concealed_events_marked_not_missing(world, roles, api):
    """The chain stays reviewable: the arm-revealing events are there, marked, and the
    sequence has no gap."""
    sealed_test_list(world)
    user = person(world, roles)
    leaky_trial(world, [user])
    rows = api(user).get("/api/v1/audit/events/?page_size=1000").json()
    if "results" not in rows:  # a pair without an audit-reading role: nothing to review
        assert rows["error"]["code"] in ("permission_denied", "not_permitted")
        return
    events = rows["results"]
    concealed = [e for e in events if e["conceal"]]
    assert concealed, "the trial made arm-revealing events"
    assert all(e["withheld"] for e in concealed)
    assert all(e["hash"] == "arm concealed" for e in concealed)
    # None left out: the same events as the person's sites hold, concealed or not.
    assert sorted(e["seq"] for e in events) == list(
        events_visible_to(user).order_by("seq").values_list("seq", flat=True)
    )


def test_the_walk_would_see_an_arm_if_one_were_shown(world, api):
    """The walk's texts are not vacuous: an unblinded monitor does see them."""
    sealed_test_list(world)
    _family, allocation = leaky_trial(world, [])
    seen = walk(world, world.monitor_buc, allocation)
    everything = "".join(seen.values())
    assert allocation.arm in everything
    assert all(marker in everything for marker in MARKERS)
    assert AuditEvent.objects.exclude(conceal="").exists()
    # The emails the walk reads were sent: the event's report, and the breach's reminder,
    # which names the deviation's kind to those not blinded at the site.
    assert any("Serious adverse event reported" in m.subject for m in mail.outbox)
    assert any("contamination" in m.body for m in mail.outbox)
