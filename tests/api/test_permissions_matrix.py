"""Every role against every API endpoint: allowed, refused (403), or not found (404) for a
record outside the caller's sites. A role that may never make a kind of change hears 403
for any id, so the answer says nothing about which records exist."""

import copy
import json
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from core.clock import today
from core.roles import Duty

from ..access import (
    ANSWERERS_AT_BUC,
    AUDIT_READERS,
    BUC_READERS,
    COORDINATOR_ACTS,
    OXF_READERS,
    QUESTIONNAIRE_ENTRY,
    READINESS_READERS,
    ROLES,
    SAFETY_READERS,
    STATISTICIANS,
    UNBLINDED_BUC_READERS,
    acts_on,
    another_answer,
    buc_allocation_id,
    buc_breach,
    buc_deviation,
    buc_freeze,
    buc_safety_event,
    buc_unblinding,
    built_dmc,
    built_export,
    consent_body,
    consent_v1,
    crf_entry_body,
    crf_family,
    crf_query,
    crf_response,
    enrol_body,
    everyone,
    family_at,
    go_live_body,
    invited_link,
    locked_out_account,
    one_event,
    only,
    open_lock,
    open_screening,
    randomise_url,
    safety_report_body,
    sealed_test_list,
    sees,
    unlock_asked,
    unsealed_live_list,
)
from ..conftest import rolled_back
from ..factories import PASSWORD
from ..trial.conftest import ELIGIBLE

EVERYONE = everyone(200, signed_out=401)
ONLY_MANAGER_WRITES = everyone(403, signed_out=401)
SEES_BUC = sees(BUC_READERS, 200, signed_out=401)
# Every account with a role in the trial reads the reports of its own sites.
REPORT_READERS = only({r: 200 for r in ROLES if r and r != "outsider"}, signed_out=401)
DMC_OPEN_READERS = {"manager", "stats.blind", "stats.unblind"}
SEES_OXF = sees(OXF_READERS, 200, signed_out=401)


@pytest.fixture
def world(shared_world):
    """Every case of this module starts from the same World, made once (tests/conftest.py)."""
    return shared_world


def m(world, who, site):
    return world.memberships[(who, site)].pk


def d(world, who, site, duty):
    return world.memberships[(who, site)].delegations.get(duty=duty).pk


def enrolled_account(w) -> int:
    """OXF's coordinator, with a second factor set up; their id."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.get_or_create(user=w.coord_oxf, defaults={"name": "app", "confirmed": True})
    return w.coord_oxf.pk


# name: (method, url(world), body(world), expected status per account)
ENDPOINTS = {
    "me": ("get", lambda w: "/api/v1/me/", None, EVERYONE),
    "schema": ("get", lambda w: "/api/schema/?format=json", None, EVERYONE),
    "site list": ("get", lambda w: "/api/v1/sites/", None, EVERYONE),
    "site register": (
        "post",
        lambda w: "/api/v1/sites/",
        lambda w: {
            "code": "RDG",
            "name": "Reading",
            "nhs_trust": "Berkshire Healthcare",
            "local_authority": "Reading",
            "recruitment_target": 30,
        },
        ONLY_MANAGER_WRITES | {"manager": 201},
    ),
    "BUC site": ("get", lambda w: f"/api/v1/sites/{w.buc.pk}/", None, SEES_BUC),
    "OXF site": ("get", lambda w: f"/api/v1/sites/{w.oxf.pk}/", None, SEES_OXF),
    "BUC site edit": (
        "patch",
        lambda w: f"/api/v1/sites/{w.buc.pk}/",
        lambda w: {"recruitment_target": 41, "reason": "agreed"},
        ONLY_MANAGER_WRITES | {"manager": 200},
    ),
    "OXF site edit": (
        "patch",
        lambda w: f"/api/v1/sites/{w.oxf.pk}/",
        lambda w: {"recruitment_target": 41, "reason": "agreed"},
        ONLY_MANAGER_WRITES | {"manager": 200},
    ),
    "MKN status step": (
        "post",
        lambda w: f"/api/v1/sites/{w.mkn.pk}/status/",
        lambda w: {
            "status": "approved",
            "ethics_approval_date": "2026-01-05",
            "rnd_approval_date": "2026-02-01",
        },
        ONLY_MANAGER_WRITES | {"manager": 200},
    ),
    "membership list": ("get", lambda w: "/api/v1/memberships/", None, EVERYONE),
    "membership grant": (
        "post",
        lambda w: "/api/v1/memberships/",
        lambda w: {"user": w.outsider.pk, "role": "monitor", "site": w.mkn.pk},
        ONLY_MANAGER_WRITES | {"manager": 201},
    ),
    "BUC membership": (
        "get",
        lambda w: f"/api/v1/memberships/{m(w, 'coord.buc', 'BUC')}/",
        None,
        SEES_BUC,
    ),
    "OXF membership": (
        "get",
        lambda w: f"/api/v1/memberships/{m(w, 'coord.oxf', 'OXF')}/",
        None,
        SEES_OXF,
    ),
    "BUC membership end": (
        "post",
        lambda w: f"/api/v1/memberships/{m(w, 'coord.buc', 'BUC')}/end/",
        lambda w: {"reason": "left"},
        ONLY_MANAGER_WRITES | {"manager": 200},
    ),
    "BUC delegation log": (
        "get",
        lambda w: f"/api/v1/memberships/{m(w, 'coord.buc', 'BUC')}/delegations/",
        None,
        SEES_BUC,
    ),
    "OXF delegation log": (
        "get",
        lambda w: f"/api/v1/memberships/{m(w, 'coord.oxf', 'OXF')}/delegations/",
        None,
        SEES_OXF,
    ),
    "BUC delegate": (
        "post",
        lambda w: f"/api/v1/memberships/{m(w, 'pi.buc', 'BUC')}/delegations/",
        lambda w: {"duty": "take_consent"},
        acts_on(BUC_READERS, {"manager": 201, "pi.buc": 201}, signed_out=401),
    ),
    "OXF delegate": (
        "post",
        lambda w: f"/api/v1/memberships/{m(w, 'pi.oxf', 'OXF')}/delegations/",
        lambda w: {"duty": "take_consent"},
        acts_on(OXF_READERS, {"manager": 201}, signed_out=401),
    ),
    "BUC delegation end": (
        "post",
        lambda w: f"/api/v1/delegations/{d(w, 'coord.buc', 'BUC', Duty.RANDOMISE)}/end/",
        lambda w: {"reason": "no longer randomises"},
        acts_on(BUC_READERS, {"manager": 200, "pi.buc": 200}, signed_out=401),
    ),
    "account list": ("get", lambda w: "/api/v1/accounts/", None, EVERYONE),
    "account create": (
        "post",
        lambda w: "/api/v1/accounts/",
        lambda w: {
            "username": "new.person",
            "email": "new@example.test",
            "password": "a-Long-enough-pass-42",
        },
        ONLY_MANAGER_WRITES | {"manager": 201},
    ),
    "account": (
        "get",
        lambda w: f"/api/v1/accounts/{w.coord_oxf.pk}/",
        None,
        everyone(404, signed_out=401) | {"manager": 200},
    ),
    "account disable": (
        "post",
        lambda w: f"/api/v1/accounts/{w.coord_oxf.pk}/active/",
        lambda w: {"active": False, "reason": "left the trust"},
        ONLY_MANAGER_WRITES | {"manager": 200},
    ),
    "account invite": (
        "post",
        lambda w: "/api/v1/accounts/invite/",
        lambda w: {"username": "invited.person", "email": "invited@example.test"},
        ONLY_MANAGER_WRITES | {"manager": 201},
    ),
    "account unlock": (
        "post",
        lambda w: f"/api/v1/accounts/{locked_out_account(w)}/unlock/",
        lambda w: {"reason": "Phoned: it was them."},
        ONLY_MANAGER_WRITES | {"manager": 200},
    ),
    "account second factor reset": (
        "post",
        lambda w: f"/api/v1/accounts/{enrolled_account(w)}/two-factor/reset/",
        lambda w: {"reason": "Lost their phone."},
        ONLY_MANAGER_WRITES | {"manager": 200},
    ),
    # Public: the same answer for everyone (and no word on whether the address has an account).
    "password reset": (
        "post",
        lambda w: "/api/v1/auth/password-reset/",
        lambda w: {"email": "someone@example.test"},
        everyone(202, signed_out=202),
    ),
    "password set": (
        "post",
        lambda w: "/api/v1/auth/password-set/",
        invited_link,
        everyone(204, signed_out=204),
    ),
    "password set (a wrong link)": (
        "post",
        lambda w: "/api/v1/auth/password-set/",
        lambda w: {"uid": "Mg", "token": "wrong", "password": "A-fresh-passphrase-2026"},
        everyone(400, signed_out=400),
    ),
    "own password": (
        "post",
        lambda w: "/api/v1/me/password/",
        lambda w: {"old_password": PASSWORD, "new_password": "A-fresh-passphrase-2026"},
        everyone(200, signed_out=401),
    ),
    "audit events": (
        "get",
        lambda w: "/api/v1/audit/events/",
        None,
        only(AUDIT_READERS, signed_out=401),
    ),
    "audit export": (
        "get",
        lambda w: "/api/v1/audit/events/export/",
        None,
        only(AUDIT_READERS, signed_out=401),
    ),
    "audit sign-offs": (
        "get",
        lambda w: "/api/v1/audit/signoffs/",
        None,
        only(AUDIT_READERS, signed_out=401),
    ),
    "BUC sign-off": (
        "post",
        lambda w: "/api/v1/audit/signoffs/",
        lambda w: {"site": w.buc.pk, "first_seq": 1, "last_seq": one_event(w)},
        only({"manager": 201, "monitor.buc": 201}, signed_out=401),
    ),
    "OXF sign-off": (
        "post",
        lambda w: "/api/v1/audit/signoffs/",
        lambda w: {"site": w.oxf.pk, "first_seq": 1, "last_seq": one_event(w)},
        only({"manager": 201, "monitor.buc": 404}, signed_out=401),
    ),
    "screening log": ("get", lambda w: "/api/v1/screening/", None, EVERYONE),
    "BUC screen": (
        "post",
        lambda w: "/api/v1/screening/",
        lambda w: {
            "site": w.buc.pk,
            "referral_date": str(w.start + timedelta(days=60)),
            "referrer_type": "midwife",
            "child_date_of_birth": str(w.start),
            "answers": ELIGIBLE,
        },
        acts_on(BUC_READERS, {"coord.buc": 201}, signed_out=401),
    ),
    "OXF screen": (
        "post",
        lambda w: "/api/v1/screening/",
        lambda w: {
            "site": w.oxf.pk,
            "referral_date": str(w.start + timedelta(days=60)),
            "referrer_type": "midwife",
            "child_date_of_birth": str(w.start),
            "answers": ELIGIBLE,
        },
        acts_on(OXF_READERS, {}, signed_out=401),
    ),
    "BUC referral": (
        "get",
        lambda w: f"/api/v1/screening/{open_screening(w, 'BUC').pk}/",
        None,
        SEES_BUC,
    ),
    "OXF referral": (
        "get",
        lambda w: f"/api/v1/screening/{open_screening(w, 'OXF').pk}/",
        None,
        SEES_OXF,
    ),
    "BUC close referral": (
        "post",
        lambda w: f"/api/v1/screening/{open_screening(w, 'BUC').pk}/close/",
        lambda w: {"outcome": "declined", "reason": "no_time"},
        acts_on(BUC_READERS, {"coord.buc": 200}, signed_out=401),
    ),
    "family list": ("get", lambda w: "/api/v1/families/", None, EVERYONE),
    "BUC enrol": (
        "post",
        lambda w: "/api/v1/families/",
        lambda w: enrol_body(w, "BUC"),
        acts_on(BUC_READERS, {"coord.buc": 201}, signed_out=401),
    ),
    "OXF enrol": (
        "post",
        lambda w: "/api/v1/families/",
        lambda w: enrol_body(w, "OXF"),
        acts_on(OXF_READERS, {}, signed_out=401),
    ),
    "BUC family": ("get", lambda w: f"/api/v1/families/{family_at(w, 'BUC').pk}/", None, SEES_BUC),
    "OXF family": ("get", lambda w: f"/api/v1/families/{family_at(w, 'OXF').pk}/", None, SEES_OXF),
    "BUC identity": (
        "get",
        lambda w: f"/api/v1/families/{family_at(w, 'BUC').pk}/identity/",
        None,
        acts_on(BUC_READERS, COORDINATOR_ACTS, signed_out=401),
    ),
    "OXF identity": (
        "get",
        lambda w: f"/api/v1/families/{family_at(w, 'OXF').pk}/identity/",
        None,
        acts_on(OXF_READERS, {}, signed_out=401),
    ),
    "BUC consents": (
        "get",
        lambda w: f"/api/v1/families/{family_at(w, 'BUC').pk}/consents/",
        None,
        SEES_BUC,
    ),
    "BUC consent": (
        "post",
        lambda w: f"/api/v1/families/{family_at(w, 'BUC').pk}/consents/",
        consent_body,
        acts_on(BUC_READERS, {"coord.buc": 201}, signed_out=401),
    ),
    "BUC consent correct": (
        "post",
        lambda w: "/api/v1/families/{}/consents/{}/correct/".format(
            family_at(w, "BUC").pk, family_at(w, "BUC").consents.get().pk
        ),
        lambda w: {"method": "remote", "reason": "entered wrongly"},
        acts_on(BUC_READERS, COORDINATOR_ACTS, signed_out=401),
    ),
    "BUC withdrawals": (
        "get",
        lambda w: f"/api/v1/families/{family_at(w, 'BUC').pk}/withdrawals/",
        None,
        SEES_BUC,
    ),
    "BUC withdraw": (
        "post",
        lambda w: f"/api/v1/families/{family_at(w, 'BUC').pk}/withdrawals/",
        lambda w: {
            "level": "questionnaires",
            "withdrawal_date": str(family_at(w, "BUC").enrolled_on),
            "reason": "too much",
        },
        acts_on(BUC_READERS, {"coord.buc": 201}, signed_out=401),
    ),
    "consent versions": ("get", lambda w: "/api/v1/consent-versions/", None, EVERYONE),
    "consent version create": (
        "post",
        lambda w: "/api/v1/consent-versions/",
        lambda w: {"version": "3.0", "ethics_approval_date": str(w.start), "items": ["take_part"]},
        ONLY_MANAGER_WRITES | {"manager": 201},
    ),
    "consent version activate": (
        "post",
        lambda w: f"/api/v1/consent-versions/{consent_v1(w).pk}/sites/",
        lambda w: {"site": w.mkn.pk, "effective_from": str(w.start + timedelta(days=3))},
        ONLY_MANAGER_WRITES | {"manager": 201},
    ),
    "BUC randomise": (
        "post",
        lambda w: randomise_url(w, "BUC"),
        None,
        acts_on(BUC_READERS, {"coord.buc": 200}, signed_out=401),
    ),
    "OXF randomise": (
        "post",
        lambda w: randomise_url(w, "OXF"),
        None,
        acts_on(OXF_READERS, {}, signed_out=401),
    ),
    "allocations": ("get", lambda w: "/api/v1/allocations/", None, EVERYONE),
    "BUC factor correction": (
        "post",
        lambda w: f"/api/v1/allocations/{buc_allocation_id(w)}/corrections/",
        lambda w: {
            "factor": "legal_status",
            "correct_value": "pre_proceedings",
            "reason": "PLO letter seen later",
            "severity": "minor",
        },
        acts_on(BUC_READERS, {"coord.buc": 201}, signed_out=401),
    ),
    "allocation lists": ("get", lambda w: "/api/v1/randomisation/lists/", None, EVERYONE),
    "generate lists": (
        "post",
        lambda w: "/api/v1/randomisation/lists/",
        lambda w: {"mode": "live", "length": 4},
        only({"stats.unblind": 201}, signed_out=401),
    ),
    "seal a list": (
        "post",
        lambda w: f"/api/v1/randomisation/lists/{unsealed_live_list(w).pk}/seal/",
        None,
        everyone(404, signed_out=401) | {"manager": 403, "stats.unblind": 200},
    ),
    "export a list": (
        "get",
        lambda w: f"/api/v1/randomisation/lists/{sealed_test_list(w).pk}/export/",
        None,
        everyone(404, signed_out=401) | {"manager": 403, "stats.unblind": 200},
    ),
    "go live": (
        "post",
        lambda w: "/api/v1/randomisation/live/",
        go_live_body,
        only({"stats.unblind": 204}, signed_out=401),
    ),
    "design report": (
        "post",
        lambda w: "/api/v1/randomisation/report/",
        lambda w: {"families": 20, "runs": 5},
        only(STATISTICIANS, signed_out=401),
    ),
    "forms": ("get", lambda w: "/api/v1/forms/", None, EVERYONE),
    "form": (
        "get",
        lambda w: f"/api/v1/forms/{crf_response(w).definition_id}/",
        None,
        sees(BUC_READERS, 200, signed_out=401),
    ),
    "BUC responses": (
        "get",
        lambda w: f"/api/v1/families/{crf_family(w).pk}/responses/",
        None,
        SEES_BUC,
    ),
    "OXF responses": (
        "get",
        lambda w: f"/api/v1/families/{crf_family(w, 'OXF').pk}/responses/",
        None,
        SEES_OXF,
    ),
    "BUC response enter": (
        "post",
        lambda w: f"/api/v1/families/{crf_family(w).pk}/responses/",
        crf_entry_body,
        acts_on(BUC_READERS, {k: 201 for k in QUESTIONNAIRE_ENTRY}, signed_out=401),
    ),
    "BUC response": (
        "get",
        lambda w: f"/api/v1/families/{crf_family(w).pk}/responses/{crf_response(w).pk}/",
        None,
        SEES_BUC,
    ),
    "BUC arm-revealing response": (
        "get",
        lambda w: (
            f"/api/v1/families/{crf_family(w).pk}/responses/"
            f"{crf_response(w, 'intervention_receipt').pk}/"
        ),
        None,
        sees(UNBLINDED_BUC_READERS, 200, signed_out=401),
    ),
    "BUC response change": (
        "patch",
        lambda w: f"/api/v1/families/{crf_family(w).pk}/responses/{crf_response(w).pk}/",
        lambda w: {
            "values": {"item_1": another_answer(crf_response(w), "item_1")},
            "reason": "transcription error",
        },
        acts_on(BUC_READERS, QUESTIONNAIRE_ENTRY, signed_out=401),
    ),
    "BUC response verify": (
        "post",
        lambda w: f"/api/v1/families/{crf_family(w).pk}/responses/{crf_response(w).pk}/verify/",
        None,
        acts_on(BUC_READERS, {"monitor.buc": 200}, signed_out=401),
    ),
    "OXF response verify": (
        "post",
        lambda w: (
            f"/api/v1/families/{crf_family(w, 'OXF').pk}/responses/"
            f"{crf_response(w, code='OXF').pk}/verify/"
        ),
        None,
        acts_on(OXF_READERS, {}, signed_out=401),
    ),
    "queries": ("get", lambda w: "/api/v1/queries/", None, EVERYONE),
    "query raise": (
        "post",
        lambda w: "/api/v1/queries/",
        lambda w: {"response": crf_response(w).pk, "field": "item_2", "text": "Check item 2."},
        acts_on(BUC_READERS, {"monitor.buc": 201}, signed_out=401),
    ),
    "query": (
        "get",
        lambda w: f"/api/v1/queries/{crf_query(w).pk}/",
        None,
        SEES_BUC,
    ),
    "query answer": (
        "post",
        lambda w: f"/api/v1/queries/{crf_query(w).pk}/answer/",
        lambda w: {"text": "Checked against the paper form: correct as entered."},
        acts_on(BUC_READERS, ANSWERERS_AT_BUC, signed_out=401),
    ),
    "query close": (
        "post",
        lambda w: f"/api/v1/queries/{crf_query(w).pk}/close/",
        lambda w: {"text": "Resolved."},
        acts_on(BUC_READERS, {"monitor.buc": 200}, signed_out=401),
    ),
    "query reopen": (
        "post",
        lambda w: f"/api/v1/queries/{crf_query(w, closed=True).pk}/reopen/",
        lambda w: {"text": "The paper form says otherwise."},
        acts_on(BUC_READERS, {"monitor.buc": 200}, signed_out=401),
    ),
    "BUC signatures": (
        "get",
        lambda w: f"/api/v1/families/{crf_family(w).pk}/signatures/",
        None,
        SEES_BUC,
    ),
    "BUC sign": (
        "post",
        lambda w: f"/api/v1/families/{crf_family(w).pk}/signatures/",
        lambda w: {"password": PASSWORD, "meaning": "reviewed"},
        acts_on(BUC_READERS, {"pi.buc": 201}, signed_out=401),
    ),
    "token revoke": (
        "post",
        lambda w: "/api/v1/auth/token/revoke/",
        None,
        {r: 204 for r in ROLES if r} | {None: 401},
    ),
}

ENDPOINTS |= {
    "lock readiness": (
        "get",
        lambda w: "/api/v1/lock/readiness/",
        None,
        only(READINESS_READERS, signed_out=401),
    ),
    "lock list": ("get", lambda w: "/api/v1/locks/", None, EVERYONE),
    "lock": (
        "post",
        lambda w: "/api/v1/locks/",
        lambda w: {"password": PASSWORD},
        only({"stats.blind": 201, "stats.unblind": 201}, signed_out=401),
    ),
    "unlock request": (
        "post",
        lambda w: f"/api/v1/locks/{open_lock(w).pk}/unlock-request/",
        lambda w: {"reason": "A transcription error."},
        acts_on(BUC_READERS, READINESS_READERS, signed_out=401),
    ),
    "unlock approve": (
        "post",
        lambda w: f"/api/v1/locks/{unlock_asked(w).pk}/unlock-approve/",
        None,
        acts_on(BUC_READERS, {"manager": 200}, signed_out=401),
    ),
    "freeze list": ("get", lambda w: "/api/v1/freezes/", None, EVERYONE),
    "deviation list": ("get", lambda w: "/api/v1/deviations/", None, EVERYONE),
    "deviation review": (
        "post",
        lambda w: f"/api/v1/deviations/{buc_deviation(w).pk}/review/",
        lambda w: {"note": "Minor; the allocation stands."},
        acts_on(BUC_READERS, {"manager": 200}, signed_out=401),
    ),
    "form not done": (
        "post",
        lambda w: f"/api/v1/families/{crf_family(w).pk}/not-done/",
        lambda w: {"visit": "month_6", "form": "psoc", "reason": "The family missed the visit."},
        acts_on(BUC_READERS, {"coord.buc": 201, "assessor.buc": 201}, signed_out=401),
    ),
    "analysis plans": (
        "get",
        lambda w: "/api/v1/analysis-plans/",
        None,
        only(READINESS_READERS, signed_out=401),
    ),
    "analysis plan record": (
        "post",
        lambda w: "/api/v1/analysis-plans/",
        lambda w: {"title": "ReConnect SAP", "version": "1.0", "sha256": "a" * 64, "final": True},
        only({"stats.blind": 201, "stats.unblind": 201}, signed_out=401),
    ),
    "freeze": (
        "post",
        lambda w: "/api/v1/freezes/",
        lambda w: {"scope": "site", "site": w.buc.pk, "reason": "Cleaning."},
        acts_on(BUC_READERS, {"manager": 201}, signed_out=401),
    ),
    "freeze release": (
        "post",
        lambda w: f"/api/v1/freezes/{buc_freeze(w).pk}/release/",
        lambda w: {"reason": "Cleaning done."},
        acts_on(BUC_READERS, {"manager": 200}, signed_out=401),
    ),
    "CONSORT report": ("get", lambda w: "/api/v1/reports/consort/", None, REPORT_READERS),
    "CONSORT report CSV": ("get", lambda w: "/api/v1/reports/consort.csv", None, REPORT_READERS),
    "CONSORT listing": (
        "get",
        lambda w: "/api/v1/reports/consort/randomised/",
        None,
        REPORT_READERS,
    ),
    "CONSORT listing by arm": (
        "get",
        lambda w: "/api/v1/reports/consort/allocated.RECONNECT/?site=BUC",
        None,
        REPORT_READERS | {"assessor.buc": 404, "stats.blind": 404},
    ),
    "recruitment report": ("get", lambda w: "/api/v1/reports/recruitment/", None, REPORT_READERS),
    "recruitment report CSV": (
        "get",
        lambda w: "/api/v1/reports/recruitment.csv",
        None,
        REPORT_READERS,
    ),
    "data quality report": ("get", lambda w: "/api/v1/reports/quality/", None, REPORT_READERS),
    "data quality report CSV": (
        "get",
        lambda w: "/api/v1/reports/quality.csv",
        None,
        REPORT_READERS,
    ),
    "balance report": ("get", lambda w: "/api/v1/reports/balance/", None, REPORT_READERS),
    "balance report CSV": ("get", lambda w: "/api/v1/reports/balance.csv", None, REPORT_READERS),
    "SAE summary": ("get", lambda w: "/api/v1/reports/safety/", None, REPORT_READERS),
    "SAE summary CSV": ("get", lambda w: "/api/v1/reports/safety.csv", None, REPORT_READERS),
    "primary outcome so far": (
        "get",
        lambda w: "/api/v1/reports/outcome/",
        None,
        only({"stats.unblind": 200}, signed_out=401),
    ),
    "primary outcome so far CSV": (
        "get",
        lambda w: "/api/v1/reports/outcome.csv",
        None,
        only({"stats.unblind": 200}, signed_out=401),
    ),
    "DMC report list": ("get", lambda w: "/api/v1/reports/dmc/", None, EVERYONE),
    "ask for the open DMC report": (
        "post",
        lambda w: "/api/v1/reports/dmc/",
        lambda w: {"part": "open"},
        only({"manager": 202, "stats.blind": 202, "stats.unblind": 202}, signed_out=401),
    ),
    "ask for the closed DMC report": (
        "post",
        lambda w: "/api/v1/reports/dmc/",
        lambda w: {"part": "closed"},
        only({"stats.unblind": 202}, signed_out=401),
    ),
    "an open DMC report": (
        "get",
        lambda w: f"/api/v1/reports/dmc/{built_dmc(w, build=False).pk}/",
        None,
        sees(DMC_OPEN_READERS, 200, signed_out=401),
    ),
    "a closed DMC report": (
        "get",
        lambda w: f"/api/v1/reports/dmc/{built_dmc(w, 'closed', build=False).pk}/",
        None,
        sees({"stats.unblind"}, 200, signed_out=401),
    ),
    "download an open DMC report": (
        "get",
        lambda w: f"/api/v1/reports/dmc/{built_dmc(w).pk}/download/",
        None,
        sees(DMC_OPEN_READERS, 200, signed_out=401),
    ),
    "download a closed DMC report": (
        "get",
        lambda w: f"/api/v1/reports/dmc/{built_dmc(w, 'closed').pk}/download/",
        None,
        sees({"stats.unblind"}, 200, signed_out=401),
    ),
    "export list": ("get", lambda w: "/api/v1/exports/", None, EVERYONE),
    "work list": ("get", lambda w: "/api/v1/worklist/", None, EVERYONE),
    # A section is one's own: another role's is not found, as on the site.
    "a section of the work list": (
        "get",
        lambda w: "/api/v1/worklist/site_coordinator/to_consent/",
        None,
        only({"coord.buc": 200}, refused=404, signed_out=401),
    ),
    "ask for an export": (
        "post",
        lambda w: "/api/v1/exports/",
        lambda w: {"kind": "blinded", "interim": True},
        only({"stats.blind": 202, "stats.unblind": 202}, signed_out=401),
    ),
    "ask for an unblinded interim export": (
        "post",
        lambda w: "/api/v1/exports/",
        lambda w: {"kind": "unblinded", "interim": True},
        only({"stats.unblind": 202}, signed_out=401),
    ),
    "a blinded export": (
        "get",
        lambda w: f"/api/v1/exports/{built_export(w).pk}/",
        None,
        sees({"stats.blind", "stats.unblind"}, 200, signed_out=401),
    ),
    "an unblinded export": (
        "get",
        lambda w: f"/api/v1/exports/{built_export(w, blinded=False).pk}/",
        None,
        sees({"stats.unblind"}, 200, signed_out=401),
    ),
    "download a blinded export": (
        "get",
        lambda w: f"/api/v1/exports/{built_export(w).pk}/download/",
        None,
        sees({"stats.blind", "stats.unblind"}, 200, signed_out=401),
    ),
    "download an unblinded export": (
        "get",
        lambda w: f"/api/v1/exports/{built_export(w, blinded=False).pk}/download/",
        None,
        sees({"stats.unblind"}, 200, signed_out=401),
    ),
}

# The safety API: events hidden where the reader is blinded; the review and the ethics
# committee report are the chief investigator's (not an account of this matrix).
SAFETY_LIST = only({r: 200 for r in SAFETY_READERS}, signed_out=401)
ENDPOINTS |= {
    "safety event list": ("get", lambda w: "/api/v1/safety/events/", None, SAFETY_LIST),
    "safety event csv": ("get", lambda w: "/api/v1/safety/events/csv/", None, SAFETY_LIST),
    "a BUC safety event": (
        "get",
        lambda w: f"/api/v1/safety/events/{buc_safety_event(w).pk}/",
        None,
        sees(SAFETY_READERS, 200, signed_out=401),
    ),
    "report a BUC safety event": (
        "post",
        lambda w: f"/api/v1/families/{crf_family(w).pk}/safety-events/",
        safety_report_body,
        # The PI of this World holds no enter-data duty: refused as on the page.
        acts_on(BUC_READERS, {"coord.buc": 201}, signed_out=401),
    ),
    "assess a BUC safety event": (
        "post",
        lambda w: f"/api/v1/safety/events/{buc_safety_event(w).pk}/assess/",
        lambda w: {
            "seriousness": ["hospitalisation"],
            "relatedness": "unrelated",
            "expectedness": "expected",
            "password": PASSWORD,
        },
        acts_on(SAFETY_READERS, {"pi.buc": 200}, signed_out=401),
    ),
    "review a BUC safety event": (
        "post",
        lambda w: f"/api/v1/safety/events/{buc_safety_event(w, assessed=True).pk}/review/",
        lambda w: {"relatedness": "possible", "expectedness": "unexpected", "note": "Agreed."},
        acts_on(SAFETY_READERS, {}, signed_out=401),
    ),
    "follow up a BUC safety event": (
        "post",
        lambda w: f"/api/v1/safety/events/{buc_safety_event(w).pk}/follow-up/",
        lambda w: {"outcome": "resolving", "note": "Home again."},
        acts_on(SAFETY_READERS, {"coord.buc": 201, "pi.buc": 201}, signed_out=401),
    ),
    "report a BUC safety event to the ethics committee": (
        "post",
        lambda w: f"/api/v1/safety/events/{buc_safety_event(w, assessed=True).pk}/rec-report/",
        lambda w: {"reported_on": today().isoformat(), "reference": "REC/1"},
        acts_on(SAFETY_READERS, {}, signed_out=401),
    ),
    "emergency unblinding list": ("get", lambda w: "/api/v1/safety/unblinding/", None, EVERYONE),
    "ask for a BUC family's arm": (
        "post",
        lambda w: "/api/v1/safety/unblinding/",
        lambda w: {"family": crf_family(w).identifier, "reason": "In hospital: the ward asks."},
        acts_on(BUC_READERS, {"assessor.buc": 201, "stats.blind": 201}, signed_out=401),
    ),
    "decide an emergency unblinding": (
        "post",
        lambda w: f"/api/v1/safety/unblinding/{buc_unblinding(w).pk}/decide/",
        lambda w: {"approve": True, "note": "A clinical need."},
        acts_on({"assessor.buc"}, {"manager": 200}, signed_out=401),
    ),
    "show an approved emergency unblinding": (
        "post",
        lambda w: f"/api/v1/safety/unblinding/{buc_unblinding(w, approved=True).pk}/show/",
        None,
        acts_on({"manager"}, {"assessor.buc": 200}, signed_out=401),
    ),
}

# The chief investigator, endpoint by endpoint: trial-wide and unblinded, read-only. Reads every
# site's records as the trial manager does (families, casebooks, queries, the audit trail, the
# reports by arm); never identity (only the family's own site coordinators); writes nothing,
# so every change is refused (403, as for a monitor or a statistician); asks for no export,
# no allocation list, no lock and no DMC report, and sees none of theirs (404). A new endpoint
# adds its line here: test_the_chief_investigator_has_an_answer_for_every_endpoint says so.
CHIEF_INVESTIGATOR = {
    # Safety: reads every site's events, reviews them and reports to the ethics committee,
    # decides emergency unblinding; reports, assesses and follows up nothing (the site's).
    "safety event list": 200,
    "safety event csv": 200,
    "a BUC safety event": 200,
    "report a BUC safety event": 403,
    "assess a BUC safety event": 403,
    "review a BUC safety event": 200,
    "follow up a BUC safety event": 403,
    "report a BUC safety event to the ethics committee": 200,
    "emergency unblinding list": 200,
    "ask for a BUC family's arm": 403,
    "decide an emergency unblinding": 200,
    "show an approved emergency unblinding": 403,
    # Their own account, and what everyone signed in reads.
    "me": 200,
    "schema": 200,
    "own password": 200,
    "token revoke": 204,
    "password reset": 202,
    "password set": 204,
    "password set (a wrong link)": 400,
    # Sites, people and roles: read at every site, changed by the trial manager only.
    "site list": 200,
    "BUC site": 200,
    "OXF site": 200,
    "membership list": 200,
    "BUC membership": 200,
    "OXF membership": 200,
    "BUC delegation log": 200,
    "OXF delegation log": 200,
    "account list": 200,
    "account": 404,
    "site register": 403,
    "BUC site edit": 403,
    "OXF site edit": 403,
    "MKN status step": 403,
    "membership grant": 403,
    "BUC membership end": 403,
    "BUC delegate": 403,
    "OXF delegate": 403,
    "BUC delegation end": 403,
    "account create": 403,
    "account disable": 403,
    "account invite": 403,
    "account unlock": 403,
    "account second factor reset": 403,
    # The audit trail: read and exported, never signed off.
    "audit events": 200,
    "audit export": 200,
    "audit sign-offs": 200,
    "BUC sign-off": 403,
    "OXF sign-off": 403,
    # Referrals, families, consent, withdrawal: read at every site; identity refused.
    "screening log": 200,
    "BUC referral": 200,
    "OXF referral": 200,
    "family list": 200,
    "BUC family": 200,
    "OXF family": 200,
    "BUC consents": 200,
    "BUC withdrawals": 200,
    "consent versions": 200,
    "BUC identity": 403,
    "OXF identity": 403,
    "BUC screen": 403,
    "OXF screen": 403,
    "BUC close referral": 403,
    "BUC enrol": 403,
    "OXF enrol": 403,
    "BUC consent": 403,
    "BUC consent correct": 403,
    "BUC withdraw": 403,
    "consent version create": 403,
    "consent version activate": 403,
    # Randomisation: allocations read (the arm too); the sequence is no one's to read.
    "allocations": 200,
    "allocation lists": 200,
    "BUC randomise": 403,
    "OXF randomise": 403,
    "BUC factor correction": 403,
    "generate lists": 403,
    "go live": 403,
    "design report": 403,
    "seal a list": 404,
    "export a list": 404,
    # Casebooks: read, forms that reveal the arm too; nothing entered, verified or signed.
    "forms": 200,
    "form": 200,
    "BUC responses": 200,
    "OXF responses": 200,
    "BUC response": 200,
    "BUC arm-revealing response": 200,
    "queries": 200,
    "query": 200,
    "BUC signatures": 200,
    "BUC response enter": 403,
    "BUC response change": 403,
    "BUC response verify": 403,
    "OXF response verify": 403,
    "form not done": 403,
    "query raise": 403,
    "query answer": 403,
    "query close": 403,
    "query reopen": 403,
    "BUC sign": 403,
    # Locks, freezes, deviations: the lists read; no lock, freeze or review.
    "lock list": 200,
    "freeze list": 200,
    "deviation list": 200,
    "lock readiness": 403,
    "analysis plans": 403,
    "lock": 403,
    "unlock request": 403,
    "unlock approve": 403,
    "analysis plan record": 403,
    "freeze": 403,
    "freeze release": 403,
    "deviation review": 403,
    "deviation csv": 200,
    "record a BUC deviation": 201,
    "flag a BUC deviation as a possible serious breach": 200,
    "record a BUC serious breach reported": 200,
    # Reports: read by arm, as the trial manager reads them; the closed comparisons are the
    # unblinded statistician's.
    "CONSORT report": 200,
    "CONSORT report CSV": 200,
    "CONSORT listing": 200,
    "CONSORT listing by arm": 200,
    "recruitment report": 200,
    "recruitment report CSV": 200,
    "data quality report": 200,
    "data quality report CSV": 200,
    "balance report": 200,
    "balance report CSV": 200,
    "SAE summary": 200,
    "SAE summary CSV": 200,
    "primary outcome so far": 403,
    "primary outcome so far CSV": 403,
    # DMC reports and exports: the lists answer (empty); none asked for, none of them found.
    "DMC report list": 200,
    "export list": 200,
    "ask for the open DMC report": 403,
    "ask for the closed DMC report": 403,
    "an open DMC report": 404,
    "a closed DMC report": 404,
    "download an open DMC report": 404,
    "download a closed DMC report": 404,
    "ask for an export": 403,
    "ask for an unblinded interim export": 403,
    "a blinded export": 404,
    "an unblinded export": 404,
    "download a blinded export": 404,
    "download an unblinded export": 404,
    # Their home work list.
    "work list": 200,
    "a section of the work list": 404,
}
# Each row's expectations with the chief investigator's answer from the table (a row the
# table lacks expects nothing a response can give, so its case fails until it is added).
ENDPOINTS = {
    name: (method, url, body, expected | {"chief": CHIEF_INVESTIGATOR.get(name, "not listed")})
    for name, (method, url, body, expected) in ENDPOINTS.items()
}

# The deviation log: recorded by the site's staff, a monitor, the trial manager or the chief
# investigator; a possible serious breach flagged, and its report recorded, by the last two.
DEVIATION_RECORDERS = {"manager", "coord.buc", "pi.buc", "monitor.buc", "chief"}
ENDPOINTS |= {
    "deviation csv": ("get", lambda w: "/api/v1/deviations.csv", None, EVERYONE),
    "record a BUC deviation": (
        "post",
        lambda w: "/api/v1/deviations/",
        lambda w: {
            "family": crf_family(w).identifier,
            "kind": "consent",
            "severity": "minor",
            "occurred_on": today().isoformat(),
            "description": "Consent form version 1 used after version 2 took effect.",
        },
        acts_on(BUC_READERS, {r: 201 for r in DEVIATION_RECORDERS}, signed_out=401),
    ),
    "flag a BUC deviation as a possible serious breach": (
        "post",
        lambda w: f"/api/v1/deviations/{buc_deviation(w).pk}/breach/",
        lambda w: {"reason": "It may affect the families' safety."},
        acts_on(BUC_READERS, {"manager": 200, "chief": 200}, signed_out=401),
    ),
    "record a BUC serious breach reported": (
        "post",
        lambda w: f"/api/v1/deviations/{buc_breach(w).pk}/breach-reported/",
        lambda w: {"reported_on": today().isoformat()},
        acts_on(BUC_READERS, {"manager": 200, "chief": 200}, signed_out=401),
    ),
}

CASES = [(name, who) for name in ENDPOINTS for who in ROLES]


@pytest.mark.parametrize(("endpoint", "who"), CASES, ids=[f"{n}-{w}" for n, w in CASES])
@pytest.mark.requirement("ACC-1")
def test_permission_matrix(world, endpoint, who):
    method, url, body, expected = ENDPOINTS[endpoint]
    client = APIClient()
    if who:
        client.force_authenticate(world.users[who])
    answer = getattr(client, method)(url(world), body(world) if body else None, format="json")
    assert answer.status_code == expected[who], answer.content[:300]
    if answer.status_code >= 400:
        assert "error" in json.loads(answer.content)


def test_the_chief_investigator_has_an_answer_for_every_endpoint():
    assert sorted(set(ENDPOINTS) - set(CHIEF_INVESTIGATOR)) == []
    assert sorted(set(CHIEF_INVESTIGATOR) - set(ENDPOINTS)) == []


def test_every_api_route_is_in_the_matrix(world):
    from django.urls import resolve

    from api.urls import urlpatterns

    covered = set()
    for _m, url, _b, _e in ENDPOINTS.values():
        # Each URL's records are made and rolled back on their own, as in its own case.
        kept = copy.deepcopy(world.__dict__)
        with rolled_back():
            path = url(world)
        world.__dict__.clear()
        world.__dict__.update(kept)
        covered.add(resolve(path.split("?")[0]).url_name)
    routes = {p.name for p in urlpatterns} - {"api-token"}  # token sign-in: tests/api/test_auth.py
    assert routes <= covered, f"not in the matrix: {sorted(routes - covered)}"


@pytest.mark.parametrize(
    ("who", "codes"),
    [
        ("coord.buc", ["BUC"]),
        ("monitor.buc", ["BUC"]),
        ("stats.blind", ["BUC", "MKN", "OXF"]),
        ("chief", ["BUC", "MKN", "OXF"]),
        ("outsider", []),
    ],
)
@pytest.mark.requirement("ACC-1")
def test_site_list_holds_only_the_callers_sites(world, api, who, codes):
    results = api(world.users[who]).get("/api/v1/sites/").json()["results"]
    assert [s["code"] for s in results] == codes


@pytest.mark.requirement("ACC-1")
def test_a_buc_coordinator_finds_nothing_of_oxf_anywhere(world, api):
    client = api(world.coord_buc)
    oxf_membership = world.memberships[("coord.oxf", "OXF")]
    for url in (
        f"/api/v1/sites/{world.oxf.pk}/",
        f"/api/v1/memberships/{oxf_membership.pk}/",
        f"/api/v1/memberships/{oxf_membership.pk}/delegations/",
    ):
        assert client.get(url).status_code == 404
    listed = client.get("/api/v1/memberships/").json()["results"]
    assert all(m["site_code"] != "OXF" for m in listed)
    assert "OXF" not in str(client.get("/api/v1/sites/").content)
