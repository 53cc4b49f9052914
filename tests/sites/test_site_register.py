import pytest

from audit.events import EventType
from core.channels import Channel
from core.errors import NotPermitted, TrialError
from sites.lifecycle import site_register, site_update
from sites.models import Site

from ..helpers import last_event, writes_nothing

GOOD = dict(
    name="Reading CAMHS",
    nhs_trust="Berkshire Healthcare NHS Foundation Trust",
    local_authority="Reading Borough Council",
    recruitment_target=30,
)


def register(world, actor=None, **fields):
    return site_register(
        trial=world.trial,
        actor=actor or world.manager,
        channel=Channel.WEB,
        **{"code": "RDG", **GOOD, **fields},
    )


def test_manager_registers_a_proposed_site_and_the_ledger_records_it(world):
    site = register(world)
    assert site.status == "proposed" and not site.can_recruit
    event = last_event()
    assert event.event_type == EventType.CREATE and event.object_id == str(site.pk)
    assert event.changes["code"] == [None, "RDG"] and event.site_code == "RDG"
    assert event.actor_username == "manager" and event.channel == "web"
    assert site.history.first().history_user == world.manager


@pytest.mark.parametrize("code", ["rdg", "RD", "RDGX", "R1G", "", " R G", "ÄBC"])
def test_a_code_that_is_not_three_capital_letters_is_refused_naming_the_field(world, code):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        register(world, code=code)
    assert refused.value.field == "code"
    assert "3 capital letters" in refused.value.message


def test_a_duplicate_code_is_refused_and_writes_nothing(world):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        register(world, code="BUC")
    assert refused.value.field == "code" and "BUC" in refused.value.message


@pytest.mark.parametrize("target", [0, -3, "ten", True, 10**6])
def test_recruitment_target_must_be_a_positive_whole_number(world, target):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        register(world, recruitment_target=target)
    assert refused.value.field == "recruitment_target"


@pytest.mark.parametrize("field", ["name", "nhs_trust", "local_authority"])
def test_blank_names_are_refused(world, field):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        register(world, **{field: "   "})
    assert refused.value.field == field


@pytest.mark.parametrize(
    "who", ["coord_buc", "pi_buc", "monitor_buc", "stats_unblind", "chief", "outsider"]
)
def test_only_the_trial_manager_registers_sites(world, who):
    with writes_nothing(), pytest.raises(NotPermitted):
        register(world, actor=getattr(world, who))


@pytest.mark.requirement("AUD-1")
def test_update_records_old_and_new_values(world):
    site_update(
        site=world.mkn,
        actor=world.manager,
        channel=Channel.API,
        recruitment_target=45,
        reason="target agreed with the sponsor",
    )
    event = last_event()
    assert event.changes == {"recruitment_target": [30, 45]}
    assert event.reason == "target agreed with the sponsor"
    assert (
        Site.history.filter(id=world.mkn.pk).first().history_change_reason
        == "target agreed with the sponsor"
    )


def test_principal_investigator_must_hold_that_role_at_the_site(world):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        site_update(
            site=world.mkn,
            actor=world.manager,
            channel=Channel.WEB,
            principal_investigator=world.pi_buc,
        )
    assert refused.value.field == "principal_investigator" and "MKN" in refused.value.message


def test_an_active_site_cannot_lose_its_principal_investigator(world):
    with writes_nothing(), pytest.raises(TrialError) as refused:
        site_update(
            site=world.buc, actor=world.manager, channel=Channel.WEB, principal_investigator=None
        )
    assert refused.value.field == "principal_investigator"


def test_an_update_that_changes_nothing_writes_no_event(world):
    with writes_nothing():
        site_update(
            site=world.buc,
            actor=world.manager,
            channel=Channel.WEB,
            recruitment_target=world.buc.recruitment_target,
        )
