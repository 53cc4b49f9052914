"""Every role against every page: allowed, refused (403), or not found (404) for a record
outside the caller's sites. Signed-out visitors are sent to sign in."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.clock import today
from core.roles import Duty

from ..access import (
    ANSWERERS_AT_BUC,
    ARM_AT_BUC,
    AUDIT_READERS,
    BUC_READERS,
    COORDINATOR_ACTS,
    OXF_READERS,
    QUESTIONNAIRE_ENTRY,
    READINESS_READERS,
    ROLES,
    SAFETY_READERS,
    UNBLINDED_BUC_READERS,
    acts_on,
    allocation_url,
    buc_breach,
    buc_deviation,
    buc_freeze,
    buc_safety_event,
    buc_unblinding,
    built_dmc,
    built_export,
    crf_family,
    crf_query,
    crf_response,
    everyone,
    family_at,
    locked_out_account,
    one_event,
    only,
    open_lock,
    open_screening,
    safety_report_body,
    sealed_test_list,
    sees,
    unlock_asked,
)
from ..factories import PASSWORD

SIGNED_IN = everyone(200, signed_out=302)
MANAGER_ONLY = only({"manager": 200}, signed_out=302)
SEES_BUC = sees(BUC_READERS, 200, signed_out=302)
SEES_OXF = sees(OXF_READERS, 200, signed_out=302)
SEES_MKN = SEES_OXF
MANAGES_BUC = acts_on(BUC_READERS, {"manager": 200}, signed_out=302)
MANAGES_OXF = acts_on(OXF_READERS, {"manager": 200}, signed_out=302)
MANAGES_MKN = MANAGES_OXF
# Every account with a role in the trial reads the reports of its own sites.
REPORT_READERS = only({r: 200 for r in ROLES if r and r != "outsider"}, signed_out=302)
DMC_OPEN_READERS = {"manager", "stats.blind", "stats.unblind"}
# Who records a deviation at BUC (trial/deviations.py RECORDERS), and reports a safety event.
DEVIATION_RECORDERS = {"manager": 200, "coord.buc": 200, "monitor.buc": 200, "pi.buc": 200}
SAFETY_REPORTERS = {"coord.buc": 200, "pi.buc": 200}


@pytest.fixture
def world(shared_world):
    """Every case of this module starts from the same World, made once (tests/conftest.py)."""
    return shared_world


def ok_after_post(expected):
    """A successful form post redirects (302); refusals keep their status."""
    return {k: (302 if v == 200 else v) for k, v in expected.items()}


def safety_report_form(w) -> dict:
    """The safety report as the page posts it: the form's answers as fields of their own."""
    body = safety_report_body(w)
    yes_no = {True: "yes", False: "no"}
    answers = {k: yes_no[v] if isinstance(v, bool) else v for k, v in body.pop("values").items()}
    return {**answers, **body}


def m(w, who, site):
    return w.memberships[(who, site)].pk


def enrolled_account(w) -> int:
    """OXF's coordinator, with a second factor set up; their id."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.get_or_create(user=w.coord_oxf, defaults={"name": "app", "confirmed": True})
    return w.coord_oxf.pk


PAGES = {
    "home": ("get", lambda w: "/", None, SIGNED_IN),
    # A section of the work list is the person's own: a role they do not hold has none.
    "a section of one's work list": (
        "get",
        lambda w: "/work/site_coordinator/forms_due/",
        None,
        only({"coord.buc": 200}, refused=404, signed_out=302),
    ),
    "site list": ("get", lambda w: "/sites/", None, SIGNED_IN),
    "site register form": ("get", lambda w: "/sites/new/", None, MANAGER_ONLY),
    "site register": (
        "post",
        lambda w: "/sites/new/",
        lambda w: {
            "code": "RDG",
            "name": "Reading CAMHS",
            "nhs_trust": "Berkshire Healthcare",
            "local_authority": "Reading",
            "recruitment_target": 30,
        },
        ok_after_post(MANAGER_ONLY),
    ),
    "BUC site": ("get", lambda w: f"/sites/{w.buc.pk}/", None, SEES_BUC),
    "OXF site": ("get", lambda w: f"/sites/{w.oxf.pk}/", None, SEES_OXF),
    "BUC edit": ("get", lambda w: f"/sites/{w.buc.pk}/edit/", None, MANAGES_BUC),
    "OXF edit": ("get", lambda w: f"/sites/{w.oxf.pk}/edit/", None, MANAGES_OXF),
    "MKN status form": ("get", lambda w: f"/sites/{w.mkn.pk}/status/", None, MANAGES_MKN),
    "MKN status step": (
        "post",
        lambda w: f"/sites/{w.mkn.pk}/status/",
        lambda w: {
            "status": "approved",
            "ethics_approval_date": "2026-01-05",
            "rnd_approval_date": "2026-02-01",
        },
        ok_after_post(MANAGES_MKN),
    ),
    "people": ("get", lambda w: "/people/", None, SIGNED_IN | {"outsider": 403}),
    "grant role": (
        "post",
        lambda w: "/people/",
        lambda w: {"user": w.outsider.pk, "role": "monitor", "site": w.mkn.pk},
        ok_after_post(MANAGER_ONLY),
    ),
    "account form": ("get", lambda w: "/people/accounts/new/", None, MANAGER_ONLY),
    "account": ("get", lambda w: f"/people/accounts/{w.coord_oxf.pk}/", None, MANAGER_ONLY),
    "account disable": (
        "post",
        lambda w: f"/people/accounts/{w.coord_oxf.pk}/active/",
        lambda w: {"active": "false", "reason": "left the trust"},
        ok_after_post(MANAGER_ONLY),
    ),
    "password change form": ("get", lambda w: "/accounts/password/", None, SIGNED_IN),
    "invite form": ("get", lambda w: "/people/accounts/invite/", None, MANAGER_ONLY),
    "invite a user": (
        "post",
        lambda w: "/people/accounts/invite/",
        lambda w: {"username": "invited.person", "email": "invited@example.test"},
        ok_after_post(MANAGER_ONLY),
    ),
    "unlock an account": (
        "post",
        lambda w: f"/people/accounts/{locked_out_account(w)}/unlock/",
        lambda w: {"reason": "Phoned: it was them."},
        ok_after_post(MANAGER_ONLY),
    ),
    "reset a second factor": (
        "post",
        lambda w: f"/people/accounts/{enrolled_account(w)}/two-factor/reset/",
        lambda w: {"reason": "Lost their phone."},
        ok_after_post(MANAGER_ONLY),
    ),
    # Your own second factor: every signed-in account (with none yet, the code page sends
    # them to enrol, and new recovery codes are refused with a message).
    "two-factor sign-in": ("get", lambda w: "/accounts/two-factor/", None, SIGNED_IN),
    "set up two-factor sign-in": ("get", lambda w: "/accounts/two-factor/enrol/", None, SIGNED_IN),
    "no enrolment's QR code": (
        "get",
        lambda w: "/accounts/two-factor/enrol/qr.svg",
        None,
        everyone(404, signed_out=302),
    ),
    "enter a second-factor code": (
        "get",
        lambda w: "/accounts/two-factor/code/",
        None,
        everyone(302, signed_out=302),
    ),
    "make new recovery codes": (
        "post",
        lambda w: "/accounts/two-factor/recovery-codes/",
        None,
        everyone(302, signed_out=302),
    ),
    # Public pages: the same for everyone, signed in or not.
    "forgotten password": (
        "get",
        lambda w: "/accounts/password/reset/",
        None,
        everyone(200, signed_out=200),
    ),
    "set a password (a wrong link)": (
        "get",
        lambda w: "/accounts/password/set/Mg/wrong/",
        None,
        everyone(200, signed_out=200),
    ),
    "BUC membership": (
        "get",
        lambda w: f"/people/roles/{m(w, 'coord.buc', 'BUC')}/",
        None,
        SEES_BUC,
    ),
    "OXF membership": (
        "get",
        lambda w: f"/people/roles/{m(w, 'coord.oxf', 'OXF')}/",
        None,
        SEES_OXF,
    ),
    "BUC delegate": (
        "post",
        lambda w: f"/people/roles/{m(w, 'pi.buc', 'BUC')}/",
        lambda w: {"action": "delegate", "duty": "take_consent"},
        ok_after_post(MANAGES_BUC | {"pi.buc": 200}),
    ),
    "BUC duty end": (
        "post",
        lambda w: "/people/duties/{}/end/".format(
            w.memberships[("coord.buc", "BUC")].delegations.get(duty=Duty.RANDOMISE).pk
        ),
        lambda w: {},
        ok_after_post(MANAGES_BUC | {"pi.buc": 200}),
    ),
    "audit review": ("get", lambda w: "/audit/", None, only(AUDIT_READERS, signed_out=302)),
    "audit export": (
        "get",
        lambda w: "/audit/export.csv",
        None,
        only(AUDIT_READERS, signed_out=302),
    ),
    "audit sign-off": (
        "post",
        lambda w: "/audit/signoff/",
        lambda w: {"site": w.buc.pk, "first_seq": 1, "last_seq": one_event(w)},
        only({"manager": 302, "monitor.buc": 302}, signed_out=302),
    ),
    # Requirements traced to tests: read by those who inspect the audit trail.
    "validation matrix": (
        "get",
        lambda w: "/audit/validation/",
        None,
        only(AUDIT_READERS, signed_out=302),
    ),
    "screening log": ("get", lambda w: "/screening/", None, SIGNED_IN),
    "new referral form": (
        "get",
        lambda w: "/screening/new/",
        None,
        only({"coord.buc": 200}, signed_out=302),
    ),
    "BUC referral": ("get", lambda w: f"/screening/{open_screening(w, 'BUC').pk}/", None, SEES_BUC),
    "OXF referral": ("get", lambda w: f"/screening/{open_screening(w, 'OXF').pk}/", None, SEES_OXF),
    "BUC enrol form": (
        "get",
        lambda w: f"/screening/{open_screening(w, 'BUC').pk}/enrol/",
        None,
        acts_on(BUC_READERS, {"coord.buc": 200}, signed_out=302),
    ),
    "families": ("get", lambda w: "/families/", None, SIGNED_IN),
    "BUC family": ("get", lambda w: f"/families/{family_at(w, 'BUC').pk}/", None, SEES_BUC),
    "OXF family": ("get", lambda w: f"/families/{family_at(w, 'OXF').pk}/", None, SEES_OXF),
    "BUC identity": (
        "get",
        lambda w: f"/families/{family_at(w, 'BUC').pk}/identity/",
        None,
        acts_on(BUC_READERS, COORDINATOR_ACTS, signed_out=302),
    ),
    "OXF identity": (
        "get",
        lambda w: f"/families/{family_at(w, 'OXF').pk}/identity/",
        None,
        acts_on(OXF_READERS, {}, signed_out=302),
    ),
    "consent versions": (
        "get",
        lambda w: "/consent-versions/",
        None,
        SIGNED_IN | {"outsider": 403},
    ),
    "BUC randomise confirm": (
        "get",
        lambda w: f"/families/{family_at(w, 'BUC').pk}/randomise/",
        None,
        acts_on(BUC_READERS, COORDINATOR_ACTS, signed_out=302),
    ),
    "OXF randomise confirm": (
        "get",
        lambda w: f"/families/{family_at(w, 'OXF').pk}/randomise/",
        None,
        acts_on(OXF_READERS, {}, signed_out=302),
    ),
    "BUC allocation result": (
        "get",
        allocation_url,
        None,
        acts_on(BUC_READERS, ARM_AT_BUC, signed_out=302),
    ),
    "statistics": (
        "get",
        lambda w: "/statistics/",
        None,
        only({"stats.blind": 200, "stats.unblind": 200}, signed_out=302),
    ),
    "list export": (
        "get",
        lambda w: f"/statistics/lists/{sealed_test_list(w).pk}/export.csv",
        None,
        everyone(404, signed_out=302) | {"manager": 403, "stats.unblind": 200},
    ),
    "forms dashboard": ("get", lambda w: "/forms/", None, SIGNED_IN),
    "BUC casebook": ("get", lambda w: f"/families/{crf_family(w).pk}/casebook/", None, SEES_BUC),
    "OXF casebook": (
        "get",
        lambda w: f"/families/{crf_family(w, 'OXF').pk}/casebook/",
        None,
        SEES_OXF,
    ),
    "BUC entry": (
        "get",
        lambda w: f"/families/{crf_family(w).pk}/enter/month_6/psoc/",
        None,
        acts_on(BUC_READERS, QUESTIONNAIRE_ENTRY, signed_out=302),
    ),
    "BUC arm-revealing entry": (
        "get",
        lambda w: f"/families/{crf_family(w).pk}/enter/month_6/intervention_receipt/",
        None,
        acts_on(UNBLINDED_BUC_READERS, {"coord.buc": 200}, signed_out=302),
    ),
    "BUC entry preview": (
        "post",
        lambda w: f"/families/{crf_family(w).pk}/forms/{crf_response(w).definition_id}/preview/",
        lambda w: {"item_1": "3"},
        SEES_BUC,
    ),
    "BUC response": (
        "get",
        lambda w: f"/families/{crf_family(w).pk}/responses/{crf_response(w).pk}/",
        None,
        SEES_BUC,
    ),
    "BUC arm-revealing response": (
        "get",
        lambda w: (
            f"/families/{crf_family(w).pk}/responses/{crf_response(w, 'intervention_receipt').pk}/"
        ),
        None,
        sees(UNBLINDED_BUC_READERS, 200, signed_out=302),
    ),
    "BUC response verify": (
        "post",
        lambda w: f"/families/{crf_family(w).pk}/responses/{crf_response(w).pk}/",
        lambda w: {"action": "verify"},
        ok_after_post(acts_on(BUC_READERS, {"monitor.buc": 200}, signed_out=302)),
    ),
    "BUC query answer": (
        "post",
        lambda w: f"/families/{crf_family(w).pk}/responses/{crf_query(w).response_id}/",
        lambda w: {"action": "answer", "query": crf_query(w).pk, "text": "Correct as entered."},
        ok_after_post(acts_on(BUC_READERS, ANSWERERS_AT_BUC, signed_out=302)),
    ),
    "BUC sign": (
        "get",
        lambda w: f"/families/{crf_family(w).pk}/sign/",
        None,
        acts_on(BUC_READERS, {"pi.buc": 200}, signed_out=302),
    ),
    "lock page": ("get", lambda w: "/lock/", None, only(READINESS_READERS, signed_out=302)),
    "lock": (
        "post",
        lambda w: "/lock/",
        lambda w: {"action": "lock", "password": PASSWORD},
        only({"stats.blind": 302, "stats.unblind": 302}, signed_out=302),
    ),
    "record the analysis plan": (
        "post",
        lambda w: "/lock/",
        lambda w: {
            "action": "plan",
            "title": "ReConnect SAP",
            "version": "1.0",
            "document": SimpleUploadedFile("sap.pdf", b"%PDF SAP"),
        },
        only({"stats.blind": 302, "stats.unblind": 302}, signed_out=302),
    ),
    "ask to unlock": (
        "post",
        lambda w: "/lock/",
        lambda w: {"action": "unlock_request", "lock": open_lock(w).pk, "reason": "Late SAE."},
        only({r: 302 for r in READINESS_READERS}, signed_out=302),
    ),
    "confirm an unlock": (
        "post",
        lambda w: "/lock/",
        lambda w: {"action": "unlock_approve", "lock": unlock_asked(w).pk},
        only({"manager": 302}, signed_out=302),
    ),
    "unfreeze": (
        "post",
        lambda w: "/lock/",
        lambda w: {"action": "release", "freeze": buc_freeze(w).pk, "reason": "Done."},
        only({"manager": 302}, signed_out=302),
    ),
    "mark a form not done": (
        "post",
        lambda w: f"/families/{crf_family(w).pk}/enter/month_6/psoc/",
        lambda w: {"action": "not_done", "reason": "The family missed the visit."},
        acts_on(BUC_READERS, {"coord.buc": 302, "assessor.buc": 302}, signed_out=302),
    ),
    "review a deviation": (
        "post",
        lambda w: f"/families/{family_at(w, 'BUC').pk}/",
        lambda w: {"action": "review_deviation", "deviation": buc_deviation(w).pk, "note": "Seen."},
        acts_on(BUC_READERS, {"manager": 302}, signed_out=302),
    ),
    "freeze a site": (
        "post",
        lambda w: "/lock/",
        lambda w: {"action": "freeze", "site": w.buc.pk, "reason": "Cleaning."},
        only({"manager": 302}, signed_out=302),
    ),
    "exports page": (
        "get",
        lambda w: "/exports/",
        None,
        only({"stats.blind": 200, "stats.unblind": 200}, signed_out=302),
    ),
    "ask for an export": (
        "post",
        lambda w: "/exports/",
        lambda w: {"kind": "blinded", "interim": "on"},
        only({"stats.blind": 302, "stats.unblind": 302}, signed_out=302),
    ),
    "an export's progress": (
        "get",
        lambda w: f"/exports/{built_export(w).pk}/",
        None,
        sees({"stats.blind", "stats.unblind"}, 200, signed_out=302),
    ),
    "an unblinded export's progress": (
        "get",
        lambda w: f"/exports/{built_export(w, blinded=False).pk}/",
        None,
        sees({"stats.unblind"}, 200, signed_out=302),
    ),
    "download an export": (
        "get",
        lambda w: f"/exports/{built_export(w).pk}/download/",
        None,
        sees({"stats.blind", "stats.unblind"}, 200, signed_out=302),
    ),
    "download an unblinded export": (
        "get",
        lambda w: f"/exports/{built_export(w, blinded=False).pk}/download/",
        None,
        sees({"stats.unblind"}, 200, signed_out=302),
    ),
    "reports": ("get", lambda w: "/reports/", None, REPORT_READERS),
    "CONSORT diagram": ("get", lambda w: "/reports/consort/", None, REPORT_READERS),
    "CONSORT diagram, one site": (
        "get",
        lambda w: "/reports/consort/?site=BUC&from=2020-01-01",
        None,
        {**REPORT_READERS, "stats.blind": 200, "stats.unblind": 200},
    ),
    "CONSORT SVG": ("get", lambda w: "/reports/consort.svg", None, REPORT_READERS),
    "CONSORT PDF": ("get", lambda w: "/reports/consort.pdf", None, REPORT_READERS),
    "CONSORT listing": ("get", lambda w: "/reports/consort/randomised/", None, REPORT_READERS),
    "CONSORT listing by arm": (
        "get",
        lambda w: "/reports/consort/allocated.RECONNECT/?site=BUC",
        None,
        REPORT_READERS | {"assessor.buc": 404, "stats.blind": 404},
    ),
    "recruitment": ("get", lambda w: "/reports/recruitment/", None, REPORT_READERS),
    "recruitment chart": ("get", lambda w: "/reports/recruitment.svg", None, REPORT_READERS),
    "data quality": ("get", lambda w: "/reports/quality/", None, REPORT_READERS),
    "baseline balance": ("get", lambda w: "/reports/balance/", None, REPORT_READERS),
    "SAE summary": ("get", lambda w: "/reports/safety/", None, REPORT_READERS),
    "primary outcome so far": (
        "get",
        lambda w: "/reports/outcome/",
        None,
        only({"stats.unblind": 200}, signed_out=302),
    ),
    "DMC reports": ("get", lambda w: "/reports/dmc/", None, REPORT_READERS),
    "ask for the open DMC report": (
        "post",
        lambda w: "/reports/dmc/new/",
        lambda w: {"part": "open"},
        only({"manager": 302, "stats.blind": 302, "stats.unblind": 302}, signed_out=302),
    ),
    "ask for the closed DMC report": (
        "post",
        lambda w: "/reports/dmc/new/",
        lambda w: {"part": "closed"},
        only({"stats.unblind": 302}, signed_out=302),
    ),
    "an open DMC report": (
        "get",
        lambda w: f"/reports/dmc/{built_dmc(w, build=False).pk}/",
        None,
        sees(DMC_OPEN_READERS, 200, signed_out=302),
    ),
    "a closed DMC report": (
        "get",
        lambda w: f"/reports/dmc/{built_dmc(w, 'closed', build=False).pk}/",
        None,
        sees({"stats.unblind"}, 200, signed_out=302),
    ),
    "download an open DMC report": (
        "get",
        lambda w: f"/reports/dmc/{built_dmc(w).pk}/download/",
        None,
        sees(DMC_OPEN_READERS, 200, signed_out=302),
    ),
    "download a closed DMC report": (
        "get",
        lambda w: f"/reports/dmc/{built_dmc(w, 'closed').pk}/download/",
        None,
        sees({"stats.unblind"}, 200, signed_out=302),
    ),
    "admin": ("get", lambda w: "/admin/", None, {r: 302 for r in ROLES} | {"manager": 200}),
    "API docs": ("get", lambda w: "/api/docs/", None, SIGNED_IN | {None: 401}),
}

# Safety and protocol compliance (SAEs, the deviation log, unblinding): their pages' rows go
# here, each with the chief investigator's answer in CHIEF_INVESTIGATOR below.
PAGES |= {
    # The deviation log: every account reads the deviations of its own sites.
    "deviation log": ("get", lambda w: "/deviations/", None, SIGNED_IN),
    "BUC deviation": (
        "get",
        lambda w: f"/deviations/{buc_deviation(w).pk}/",
        None,
        SEES_BUC,
    ),
    "record a deviation form": (
        "get",
        lambda w: f"/families/{family_at(w, 'BUC').pk}/deviations/new/",
        None,
        acts_on(BUC_READERS, DEVIATION_RECORDERS, signed_out=302),
    ),
    "record a deviation": (
        "post",
        lambda w: f"/families/{family_at(w, 'BUC').pk}/deviations/new/",
        lambda w: {
            "kind": "other",
            "severity": "minor",
            "occurred_on": today().isoformat(),
            "description": "The visit letter went to the wrong address.",
        },
        ok_after_post(acts_on(BUC_READERS, DEVIATION_RECORDERS, signed_out=302)),
    ),
    "review a deviation on its page": (
        "post",
        lambda w: f"/deviations/{buc_deviation(w).pk}/review/",
        lambda w: {"note": "Seen."},
        acts_on(BUC_READERS, {"manager": 302}, signed_out=302),
    ),
    "flag a possible serious breach": (
        "post",
        lambda w: f"/deviations/{buc_deviation(w, 'consent').pk}/breach/",
        lambda w: {"reason": "Consent was taken on an unapproved version."},
        acts_on(BUC_READERS, {"manager": 302}, signed_out=302),
    ),
    "record a breach's report": (
        "post",
        lambda w: f"/deviations/{buc_breach(w).pk}/breach-reported/",
        lambda w: {"reported_on": today().isoformat()},
        acts_on(BUC_READERS, {"manager": 302}, signed_out=302),
    ),
    # Safety: not for a reader blinded at every site they see (refused the listing, no event).
    "safety listing": (
        "get",
        lambda w: "/safety/",
        None,
        only({r: 200 for r in SAFETY_READERS}, signed_out=302),
    ),
    "BUC safety event": (
        "get",
        lambda w: f"/safety/{buc_safety_event(w).pk}/",
        None,
        sees(SAFETY_READERS, 200, signed_out=302),
    ),
    "assess a safety event": (
        "post",
        lambda w: f"/safety/{buc_safety_event(w).pk}/",
        lambda w: {
            "action": "assess",
            "seriousness": ["hospitalisation"],
            "relatedness": "possible",
            "expectedness": "unexpected",
            "password": PASSWORD,
        },
        acts_on(SAFETY_READERS, {"pi.buc": 302}, signed_out=302),
    ),
    "follow up a safety event": (
        "post",
        lambda w: f"/safety/{buc_safety_event(w).pk}/",
        lambda w: {"action": "follow_up", "outcome": "resolving", "note": "Home again."},
        acts_on(SAFETY_READERS, {"coord.buc": 302, "pi.buc": 302}, signed_out=302),
    ),
    "review a safety event": (
        "post",
        lambda w: f"/safety/{buc_safety_event(w, assessed=True).pk}/",
        lambda w: {
            "action": "review",
            "relatedness": "possible",
            "expectedness": "unexpected",
            "note": "Agreed.",
        },
        acts_on(SAFETY_READERS, {}, signed_out=302),
    ),
    "report a safety event to the ethics committee": (
        "post",
        lambda w: f"/safety/{buc_safety_event(w, assessed=True).pk}/",
        lambda w: {"action": "rec", "reported_on": today().isoformat(), "reference": "REC/1"},
        acts_on(SAFETY_READERS, {}, signed_out=302),
    ),
    "safety report form": (
        "get",
        lambda w: f"/safety/report/{crf_family(w).pk}/",
        None,
        acts_on(BUC_READERS, SAFETY_REPORTERS, signed_out=302),
    ),
    "report a safety event": (
        "post",
        lambda w: f"/safety/report/{crf_family(w).pk}/",
        safety_report_form,
        # The PI was not delegated the duty to enter data at BUC.
        ok_after_post(acts_on(BUC_READERS, SAFETY_REPORTERS, signed_out=302)) | {"pi.buc": 403},
    ),
    "emergency unblinding": ("get", lambda w: "/safety/unblinding/", None, SIGNED_IN),
    "ask for emergency unblinding": (
        "post",
        lambda w: "/safety/unblinding/",
        lambda w: {
            "action": "request",
            "family": crf_family(w).identifier,
            "reason": "The child is in hospital; the ward asks for the arm.",
        },
        # Only the blinded (assessor, statistician) ask; an outsider finds no such family.
        everyone(403, signed_out=302) | {"assessor.buc": 302, "stats.blind": 302, "outsider": 400},
    ),
    "approve emergency unblinding": (
        "post",
        lambda w: "/safety/unblinding/",
        lambda w: {"action": "approve", "item": buc_unblinding(w).pk, "note": "A clinical need."},
        everyone(404, signed_out=302) | {"manager": 302, "assessor.buc": 403},
    ),
    "be shown the arm": (
        "post",
        lambda w: "/safety/unblinding/",
        lambda w: {"action": "show", "item": buc_unblinding(w, approved=True).pk},
        everyone(404, signed_out=302) | {"manager": 403, "assessor.buc": 200},
    ),
}

# The chief investigator, page by page: trial-wide and unblinded, read-only. Reads every site's
# records as the trial manager does (families, casebooks, the audit trail, the reports by arm);
# never identity (only the family's own site coordinators); writes nothing, so every form that
# changes something is refused (403, as for a monitor or a statistician); no export, allocation
# list, lock or DMC report of theirs (404 for one of someone else's). A new page adds its line
# here: test_the_chief_investigator_has_an_answer_for_every_page says so.
CHIEF_INVESTIGATOR = {
    # Their own account, home and what everyone reads.
    "home": 200,
    "a section of one's work list": 404,
    "password change form": 200,
    "two-factor sign-in": 200,
    "set up two-factor sign-in": 200,
    "no enrolment's QR code": 404,
    "enter a second-factor code": 302,
    "make new recovery codes": 302,
    "reset a second factor": 403,
    "forgotten password": 200,
    "set a password (a wrong link)": 200,
    "API docs": 200,
    "admin": 302,
    # Sites, people and roles: read at every site, changed by the trial manager only.
    "site list": 200,
    "BUC site": 200,
    "OXF site": 200,
    "people": 200,
    "BUC membership": 200,
    "OXF membership": 200,
    "site register form": 403,
    "site register": 403,
    "BUC edit": 403,
    "OXF edit": 403,
    "MKN status form": 403,
    "MKN status step": 403,
    "grant role": 403,
    "account form": 403,
    "account": 403,
    "account disable": 403,
    "invite form": 403,
    "invite a user": 403,
    "unlock an account": 403,
    "BUC delegate": 403,
    "BUC duty end": 403,
    # The audit trail: read and exported, never signed off.
    "audit review": 200,
    "audit export": 200,
    "audit sign-off": 403,
    "validation matrix": 200,
    # Referrals and families: read at every site, the arm too; identity refused.
    "screening log": 200,
    "BUC referral": 200,
    "OXF referral": 200,
    "families": 200,
    "BUC family": 200,
    "OXF family": 200,
    "consent versions": 200,
    "BUC allocation result": 200,
    "BUC identity": 403,
    "OXF identity": 403,
    "new referral form": 403,
    "BUC enrol form": 403,
    "BUC randomise confirm": 403,
    "OXF randomise confirm": 403,
    "review a deviation": 403,
    # Randomisation: the statisticians' page is theirs; the sequence is no one's to read.
    "statistics": 403,
    "list export": 404,
    # Casebooks: read, forms that reveal the arm too; nothing entered, verified or signed.
    "forms dashboard": 200,
    "BUC casebook": 200,
    "OXF casebook": 200,
    "BUC response": 200,
    "BUC arm-revealing response": 200,
    "BUC entry preview": 200,
    "BUC entry": 403,
    "BUC arm-revealing entry": 403,
    "BUC response verify": 403,
    "BUC query answer": 403,
    "BUC sign": 403,
    "mark a form not done": 403,
    # Locks and freezes: the data manager's and the statisticians'.
    "lock page": 403,
    "lock": 403,
    "record the analysis plan": 403,
    "ask to unlock": 403,
    "confirm an unlock": 403,
    "unfreeze": 403,
    "freeze a site": 403,
    # Exports: the statisticians'.
    "exports page": 403,
    "ask for an export": 403,
    "an export's progress": 404,
    "an unblinded export's progress": 404,
    "download an export": 404,
    "download an unblinded export": 404,
    # Reports: read by arm, as the trial manager reads them; the closed comparisons are the
    # unblinded statistician's; the DMC list answers (empty), no DMC report of theirs.
    "reports": 200,
    "CONSORT diagram": 200,
    "CONSORT diagram, one site": 200,
    "CONSORT SVG": 200,
    "CONSORT PDF": 200,
    "CONSORT listing": 200,
    "CONSORT listing by arm": 200,
    "recruitment": 200,
    "recruitment chart": 200,
    "data quality": 200,
    "baseline balance": 200,
    "SAE summary": 200,
    "primary outcome so far": 403,
    "DMC reports": 200,
    "ask for the open DMC report": 403,
    "ask for the closed DMC report": 403,
    "an open DMC report": 404,
    "a closed DMC report": 404,
    "download an open DMC report": 404,
    "download a closed DMC report": 404,
    # The deviation log: read at every site; deviations recorded and breaches flagged and
    # reported, as a trial-wide owner of breaches; reviewed by the trial manager only.
    "deviation log": 200,
    "BUC deviation": 200,
    "record a deviation form": 200,
    "record a deviation": 302,
    "review a deviation on its page": 403,
    "flag a possible serious breach": 302,
    "record a breach's report": 302,
    # Safety: read at every site; the review, the ethics committee report and unblinding
    # decisions are theirs; the site reports, assesses and follows up.
    "safety listing": 200,
    "BUC safety event": 200,
    "assess a safety event": 403,
    "follow up a safety event": 403,
    "review a safety event": 302,
    "report a safety event to the ethics committee": 302,
    "safety report form": 403,
    "report a safety event": 403,
    "emergency unblinding": 200,
    "ask for emergency unblinding": 403,
    "approve emergency unblinding": 302,
    "be shown the arm": 403,
}
# Each row's expectations with the chief investigator's answer from the table (a row the
# table lacks expects nothing a response can give, so its case fails until it is added).
PAGES = {
    name: (method, url, body, expected | {"chief": CHIEF_INVESTIGATOR.get(name, "not listed")})
    for name, (method, url, body, expected) in PAGES.items()
}

CASES = [(name, who) for name in PAGES for who in ROLES]


@pytest.mark.parametrize(("page_name", "who"), CASES, ids=[f"{n}-{w}" for n, w in CASES])
@pytest.mark.requirement("ACC-1")
def test_page_matrix(world, page_name, who):
    method, url, body, expected = PAGES[page_name]
    client = Client()
    if who:
        client.force_login(world.users[who], backend="django.contrib.auth.backends.ModelBackend")
    answer = getattr(client, method)(url(world), body(world) if body else {})
    assert answer.status_code == expected[who], answer.content[:500]
    if who is None and answer.status_code == 302 and page_name != "admin":
        assert answer["Location"].startswith("/accounts/login/")


def test_the_chief_investigator_has_an_answer_for_every_page():
    assert sorted(set(PAGES) - set(CHIEF_INVESTIGATOR)) == []
    assert sorted(set(CHIEF_INVESTIGATOR) - set(PAGES)) == []


def test_every_page_route_is_in_the_matrix(world):
    from django.urls import resolve

    from crf.urls import urlpatterns as crf_pages
    from dataset.urls import urlpatterns as dataset_pages
    from randomisation.urls import urlpatterns as randomisation_pages
    from reports.urls import urlpatterns as report_pages
    from review.urls import urlpatterns as audit_pages
    from safety.urls import urlpatterns as safety_pages
    from sites.urls import urlpatterns as site_pages
    from trial.urls import urlpatterns as trial_pages
    from worklist.urls import urlpatterns as worklist_pages

    covered = {resolve(url(world).split("?")[0]).url_name for _m, url, _b, _e in PAGES.values()}
    routes = {
        p.name
        for p in [
            *site_pages,
            *trial_pages,
            *audit_pages,
            *randomisation_pages,
            *crf_pages,
            *dataset_pages,
            *report_pages,
            *safety_pages,
            *worklist_pages,
        ]
    }
    assert routes <= covered, f"not in the matrix: {sorted(routes - covered)}"
