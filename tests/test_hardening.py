"""Defects a review of the running system found, each held by a test: spreadsheet formulas
in CSVs, cacheable identity pages, password hashes kept in history, unchecked usernames,
and the smaller ones."""

import csv
import io
import re

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client, override_settings
from hypothesis import given
from hypothesis import strategies as st

from audit.events import EventType
from audit.ledger import record
from core.channels import Channel
from core.csvfile import FORMULA_STARTS, csv_lines, neutralised
from core.errors import NotPermitted, TrialError
from sites.accounts import account_create

from .access import crf_family, crf_response, family_at, sealed_test_list
from .factories import DEFINITION, PASSWORD

# --- CSV formula injection ------------------------------------------------------------


@given(st.text())
def test_no_text_cell_starts_a_formula_and_the_text_is_kept(text):
    cell = neutralised(text)
    assert not cell.startswith(FORMULA_STARTS)
    assert cell == text or cell == "'" + text


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.none(), st.booleans()))
def test_numbers_and_empty_cells_are_left_as_they_are(value):
    assert neutralised(value) is value


def test_the_writer_neutralises_every_cell_it_writes():
    rows = list(csv.reader(io.StringIO("".join(csv_lines(["=h"], [["=1+1", "@SUM(A1)", -3]])))))
    assert rows == [["'=h"], ["'=1+1", "'@SUM(A1)", "-3"]]


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://x.example","click")', "+1", "-2+3", "@A1"])
def test_the_audit_csv_writes_no_formula(world, page, payload):
    with transaction.atomic():
        record(
            event=EventType.UPDATE,
            actor=world.manager,
            channel=Channel.WEB,
            site=world.buc,
            reason=payload,
            changes={"name": ["Buckinghamshire", payload]},
        )
    answer = page(world.manager).get("/audit/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))
    written = [r for r in rows if r["reason"].endswith(payload)]
    assert [r["reason"] for r in written] == ["'" + payload]


def test_the_allocation_list_export_uses_the_same_writer(world, api):
    rlist = sealed_test_list(world)
    answer = api(world.stats_unblind).get(f"/api/v1/randomisation/lists/{rlist.pk}/export/")
    text = b"".join(answer.streaming_content).decode()
    header = next(csv.reader(io.StringIO(text)))
    assert header[:3] == ["list", "mode", "stratum"]
    assert not any(line.startswith(FORMULA_STARTS) for line in text.splitlines())


# --- Cache-Control ----------------------------------------------------------------------


@pytest.mark.requirement("IDN-1")
def test_identity_pages_and_answers_may_not_be_stored(world, page, api):
    family = family_at(world, "BUC")
    for answer in (
        page(world.coord_buc).get(f"/families/{family.pk}/identity/"),
        api(world.coord_buc).get(f"/api/v1/families/{family.pk}/identity/"),
    ):
        assert answer.status_code == 200
        assert "no-store" in answer["Cache-Control"] and "private" in answer["Cache-Control"]


def test_every_page_and_answer_is_no_store_even_signed_out(world):
    for url in ("/accounts/login/", "/api/v1/me/", "/families/"):
        assert "no-store" in Client().get(url)["Cache-Control"]


# --- Password hashes in history ----------------------------------------------------------


def sign_in(username: str) -> Client:
    client = Client()
    answer = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert answer.status_code == 302, answer.content[:300]
    return client


HASH = re.compile(r"^(argon2|pbkdf2_sha256|bcrypt|scrypt|md5)\$")


def test_no_history_table_holds_a_password_hash_or_a_sign_in_time(world, api):
    sign_in("coord.buc")
    api(world.coord_buc).post(
        "/api/v1/me/password/",
        {"old_password": PASSWORD, "new_password": "A-fresh-passphrase-2026"},
        format="json",
    )
    account_create(
        actor=world.manager,
        channel=Channel.WEB,
        trial=world.trial,
        username="new.person",
        email="new.person@example.test",
        password="Another-long-pass-77",
    )
    found = []
    for model in apps.get_models():
        if not model.__name__.startswith("Historical"):
            continue
        names = {f.name for f in model._meta.concrete_fields}
        assert not names & {"password", "last_login"}, model._meta.label
        for row in model.objects.values():
            found += [
                (model._meta.label, k)
                for k, v in row.items()
                if isinstance(v, str) and HASH.match(v)
            ]
    assert found == []


def test_a_sign_in_adds_no_version_to_the_account_history(world):
    versions = world.coord_buc.history.count()
    sign_in("coord.buc")
    world.coord_buc.refresh_from_db()
    assert world.coord_buc.last_login is not None
    assert world.coord_buc.history.count() == versions


# --- Usernames ------------------------------------------------------------------------

BAD_USERNAMES = ["<svg/onload=alert(1)>", "jo bloggs", "", "a" * 151, "robert'); drop"]


@pytest.mark.parametrize("username", BAD_USERNAMES)
def test_a_username_outside_the_rule_is_refused_by_the_service(world, username):
    with pytest.raises(TrialError) as refused:
        account_create(
            actor=world.manager,
            channel=Channel.WEB,
            trial=world.trial,
            username=username,
            email="x@example.test",
            password="A-long-enough-pass-42",
        )
    assert refused.value.field == "username"


def test_the_api_and_the_page_refuse_the_reviewed_username(world, api, page):
    body = {
        "username": "<svg/onload=alert(1)>",
        "email": "x@example.test",
        "password": "A-long-enough-pass-42",
    }
    answer = api(world.manager).post("/api/v1/accounts/", body, format="json")
    assert answer.status_code == 400 and "username" in answer.json()["error"]["fields"]
    answer = page(world.manager).post("/people/accounts/new/", body)
    assert answer.status_code == 200 and "letters, digits" in answer.content.decode()


def test_the_bootstrap_refuses_the_reviewed_username(db, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("A-long-enough-pass-42\n")
    with pytest.raises(CommandError, match="username"):
        call_command(
            "trial_bootstrap",
            str(DEFINITION),
            "--username",
            "<svg/onload=alert(1)>",
            "--email",
            "m@example.test",
            "--password-file",
            str(secret),
        )


# --- The smaller ones ------------------------------------------------------------------


def test_the_bootstrap_takes_its_password_from_a_file_or_the_environment(db, tmp_path, monkeypatch):
    from django.contrib.auth import get_user_model

    secret = tmp_path / "pw"
    secret.write_text("A-long-enough-pass-42\n")
    call_command(
        "trial_bootstrap",
        str(DEFINITION),
        "--username",
        "first.manager",
        "--email",
        "m@example.test",
        "--password-file",
        str(secret),
        stdout=io.StringIO(),
    )
    assert (
        get_user_model()
        .objects.get(username="first.manager")
        .check_password("A-long-enough-pass-42")
    )
    monkeypatch.setenv("TRIAL_BOOTSTRAP_PASSWORD", "Another-long-pass-77")
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "trial_bootstrap",
            str(DEFINITION),
            "--username",
            "second.manager",
            "--email",
            "s@example.test",
        )


def test_an_unreadable_password_file_is_named(db, tmp_path):
    with pytest.raises(CommandError, match="--password-file"):
        call_command(
            "trial_bootstrap",
            str(DEFINITION),
            "--username",
            "first.manager",
            "--email",
            "m@example.test",
            "--password-file",
            str(tmp_path / "missing"),
        )


def test_a_family_s_responses_can_be_narrowed_to_one_form(world, api):
    family = crf_family(world)
    crf_response(world)
    crf_response(world, "psoc")
    client = api(world.coord_buc)
    rows = client.get(f"/api/v1/families/{family.pk}/responses/?form=core10").json()
    assert {r["form"] for r in rows} == {"core10"}
    every = client.get(f"/api/v1/families/{family.pk}/responses/").json()
    assert {"core10", "psoc"} <= {r["form"] for r in every}
    month_6 = client.get(f"/api/v1/families/{family.pk}/responses/?visit=month_6").json()
    assert {r["visit"] for r in month_6} == {"month_6"}
    unknown = client.get(f"/api/v1/families/{family.pk}/responses/?form=nonsense")
    assert unknown.status_code == 400 and "form" in unknown.json()["error"]["fields"]


def test_role_names_take_the_right_article(world):
    from core.roles import Role
    from sites.permissions import require_role

    with pytest.raises(NotPermitted) as refused:
        require_role(world.coord_buc, roles={Role.OUTCOME_ASSESSOR, Role.MONITOR}, site=world.buc)
    assert refused.value.message == (
        "Only a monitor or an outcome assessor (blinded) at BUC can do this."
    )


@pytest.mark.parametrize(
    "settings_change",
    [{"DEBUG": False, "FORCE_SCRIPT_NAME": "/trial"}, {"DEBUG": True}, {"DEBUG": False}],
    ids=["served-under-a-prefix", "debug", "plain"],
)
def test_an_unknown_address_under_the_api_answers_in_the_json_shape(world, settings_change):
    with override_settings(**settings_change):
        answer = Client().get("/api/v1/no-such-thing/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["error"]["code"] == "not_found"


def test_a_body_too_large_under_the_api_is_the_json_shape_too(world, api):
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        answer = api(world.manager).post("/api/v1/sites/", {"name": "x" * 5000}, format="json")
    assert answer.status_code == 400 and answer["Content-Type"] == "application/json"
