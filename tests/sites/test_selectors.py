from datetime import timedelta

import pytest

from core.clock import today
from sites.selectors import memberships_visible_to, roles_at, sites_visible_to

from ..factories import MembershipFactory

EXPECTED_SITES = {
    "manager": {"BUC", "OXF", "MKN"},
    "stats.blind": {"BUC", "OXF", "MKN"},
    "stats.unblind": {"BUC", "OXF", "MKN"},
    "chief": {"BUC", "OXF", "MKN"},
    "coord.buc": {"BUC"},
    "coord.oxf": {"OXF"},
    "assessor.buc": {"BUC"},
    "pi.buc": {"BUC"},
    "monitor.buc": {"BUC"},
    "outsider": set(),
}


@pytest.mark.parametrize(("username", "expected"), EXPECTED_SITES.items())
@pytest.mark.requirement("ACC-1")
def test_each_account_sees_exactly_its_sites(world, username, expected):
    assert {s.code for s in sites_visible_to(world.users[username])} == expected


def test_an_ended_role_no_longer_shows_its_site(world):
    membership = world.memberships[("coord.buc", "BUC")]
    membership.ends_on = today() - timedelta(days=1)
    membership.save()
    assert not sites_visible_to(world.coord_buc).exists()


def test_a_role_starting_tomorrow_is_not_yet_held(world):
    MembershipFactory(
        user=world.outsider,
        trial=world.trial,
        site=world.oxf,
        role="monitor",
        starts_on=today() + timedelta(days=1),
    )
    assert not sites_visible_to(world.outsider).exists()
    assert roles_at(world.outsider, world.oxf, on=today() + timedelta(days=1)) == {"monitor"}


def test_a_coordinator_sees_no_membership_of_another_site(world):
    codes = {m.site.code if m.site else None for m in memberships_visible_to(world.coord_buc)}
    assert "OXF" not in codes and "BUC" in codes
