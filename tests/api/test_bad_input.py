"""Bad input gets a 4xx in the one error shape, naming the field, and writes nothing."""

import pytest

from ..helpers import writes_nothing

SITE = {
    "code": "RDG",
    "name": "Reading CAMHS",
    "nhs_trust": "Berkshire Healthcare NHS FT",
    "local_authority": "Reading Borough Council",
    "recruitment_target": 30,
}


def assert_error(answer, status, field):
    assert answer.status_code == status, answer.content
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert field in body["error"]["fields"], body
    assert body["error"]["message"]
    return body["error"]


def test_a_duplicate_site_code_is_400_naming_code(world, api):
    with writes_nothing():
        error = assert_error(
            api(world.manager).post("/api/v1/sites/", {**SITE, "code": "BUC"}, format="json"),
            400,
            "code",
        )
    assert "BUC" in error["message"]


@pytest.mark.parametrize("code", ["rdg", "RD", "RDGG", "R2D", 123, None])
def test_a_code_that_is_not_three_capital_letters_is_400(world, api, code):
    with writes_nothing():
        assert_error(
            api(world.manager).post("/api/v1/sites/", {**SITE, "code": code}, format="json"),
            400,
            "code",
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("recruitment_target", "many"),
        ("recruitment_target", 0),
        ("name", ""),
        ("nhs_trust", None),
    ],
)
def test_other_bad_site_fields_are_400_naming_the_field(world, api, field, value):
    with writes_nothing():
        assert_error(
            api(world.manager).post("/api/v1/sites/", {**SITE, field: value}, format="json"),
            400,
            field,
        )


def test_activating_without_a_principal_investigator_is_400_and_writes_nothing(world, api):
    client = api(world.manager)
    client.post(
        f"/api/v1/sites/{world.mkn.pk}/status/",
        {
            "status": "approved",
            "ethics_approval_date": "2026-01-05",
            "rnd_approval_date": "2026-02-01",
        },
        format="json",
    )
    with writes_nothing():
        error = assert_error(
            client.post(
                f"/api/v1/sites/{world.mkn.pk}/status/", {"status": "active"}, format="json"
            ),
            400,
            "principal_investigator",
        )
    assert "principal investigator" in error["message"]


def test_a_step_out_of_order_is_409_naming_status(world, api):
    with writes_nothing():
        assert_error(
            api(world.manager).post(
                f"/api/v1/sites/{world.mkn.pk}/status/", {"status": "closed"}, format="json"
            ),
            409,
            "status",
        )


@pytest.mark.parametrize(
    "body", [{"status": "paused"}, {}, {"status": "approved", "ethics_approval_date": "05/01/2026"}]
)
def test_malformed_status_requests_are_400(world, api, body):
    with writes_nothing():
        answer = api(world.manager).post(
            f"/api/v1/sites/{world.mkn.pk}/status/", body, format="json"
        )
    assert answer.status_code == 400 and answer.json()["error"]["fields"]


def test_a_json_body_that_does_not_parse_is_400(world, api):
    with writes_nothing():
        answer = api(world.manager).post(
            "/api/v1/sites/", "{not json", content_type="application/json"
        )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "parse_error"


def test_granting_a_site_role_without_a_site_is_400_naming_site(world, api):
    with writes_nothing():
        assert_error(
            api(world.manager).post(
                "/api/v1/memberships/",
                {"user": world.outsider.pk, "role": "site_coordinator"},
                format="json",
            ),
            400,
            "site",
        )


def test_an_unknown_user_id_is_400_naming_user(world, api):
    with writes_nothing():
        assert_error(
            api(world.manager).post(
                "/api/v1/memberships/",
                {"user": 999999, "role": "monitor", "site": world.buc.pk},
                format="json",
            ),
            400,
            "user",
        )


def test_an_unknown_url_under_the_api_is_a_json_404(world, api):
    answer = api(world.manager).get("/api/v1/nothing-here/")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
