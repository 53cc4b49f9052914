"""The same change on every channel leaves a complete event; without a reason, a change to
a completed record is refused on every channel and writes nothing."""

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent

from ..helpers import writes_nothing
from .test_channels import site_form

pytestmark = pytest.mark.requirement("AUD-3")


def updates_of(site):
    return list(
        AuditEvent.objects.filter(
            object_type="sites.Site", object_id=str(site.pk), event_type="update"
        ).order_by("seq")
    )


def test_one_change_through_page_api_admin_and_command_gives_four_complete_events(world, page, api):
    buc = world.buc
    page(world.manager).post(
        f"/sites/{buc.pk}/edit/", site_form(buc, recruitment_target=31, reason="via page")
    )
    api(world.manager).patch(
        f"/api/v1/sites/{buc.pk}/", {"recruitment_target": 32, "reason": "via api"}, format="json"
    )
    buc.refresh_from_db()
    page(world.manager).post(
        f"/admin/sites/site/{buc.pk}/change/",
        site_form(buc, recruitment_target=33, reason="via admin"),
    )
    call_command(
        "site_set",
        "BUC",
        "--recruitment-target",
        "34",
        "--reason",
        "via command",
        "--as",
        "manager",
    )
    events = updates_of(buc)
    assert [
        (e.channel, e.actor_username, e.actor_role, e.changes, e.reason, e.edit_after)
        for e in events
    ] == [
        (
            "web",
            "manager",
            "trial_manager",
            {"recruitment_target": [30, 31]},
            "via page",
            "completed",
        ),
        (
            "api",
            "manager",
            "trial_manager",
            {"recruitment_target": [31, 32]},
            "via api",
            "completed",
        ),
        (
            "admin",
            "manager",
            "trial_manager",
            {"recruitment_target": [32, 33]},
            "via admin",
            "completed",
        ),
        (
            "command",
            "manager",
            "trial_manager",
            {"recruitment_target": [33, 34]},
            "via command",
            "completed",
        ),
    ]
    assert all(e.actor_id == world.manager.pk and e.site_code == "BUC" for e in events)
    versions = buc.history.order_by("history_id")
    assert [v.history_change_reason for v in versions][-4:] == [
        "via page",
        "via api",
        "via admin",
        "via command",
    ]
    assert {v.history_user for v in list(versions)[-4:]} == {world.manager}


def test_the_page_refuses_a_change_without_a_reason(world, page):
    client = page(world.manager)
    with writes_nothing():
        answer = client.post(
            f"/sites/{world.buc.pk}/edit/", site_form(world.buc, recruitment_target=31)
        )
    assert answer.status_code == 200
    assert b'data-field="reason"' in answer.content and b"give a reason" in answer.content


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_the_api_refuses_a_change_without_a_reason(world, api, reason):
    body = {"recruitment_target": 31} | ({} if reason is None else {"reason": reason})
    with writes_nothing():
        answer = api(world.manager).patch(f"/api/v1/sites/{world.buc.pk}/", body, format="json")
    assert answer.status_code == 400
    assert "give a reason" in answer.json()["error"]["fields"]["reason"][0]


def test_the_admin_refuses_a_change_without_a_reason(world, page):
    client = page(world.manager)
    with writes_nothing():
        answer = client.post(
            f"/admin/sites/site/{world.buc.pk}/change/",
            site_form(world.buc, recruitment_target=31),
            follow=True,
        )
    assert b"give a reason" in answer.content


def test_the_command_refuses_a_change_without_a_reason(world):
    with writes_nothing(), pytest.raises(CommandError, match="reason: BUC is active"):
        call_command("site_set", "BUC", "--recruitment-target", "34", "--as", "manager")


def test_a_proposed_site_changes_without_a_reason(world, api):
    answer = api(world.manager).patch(
        f"/api/v1/sites/{world.mkn.pk}/", {"recruitment_target": 44}, format="json"
    )
    assert answer.status_code == 200
    assert updates_of(world.mkn)[-1].edit_after == ""
