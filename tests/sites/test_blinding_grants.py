"""Nobody can be both blinded and an arm reader at one site: a role that reads allocations is
refused to someone blinded there, and a blinded role to someone who reads (or has read)
allocations there, whichever comes first, on the service, page, API, admin and command."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from core.channels import Channel
from core.clock import today
from core.errors import TrialError
from core.roles import ARM_READERS, BLINDED_ROLES, TRIAL_WIDE_ROLES, Role
from sites.memberships import membership_end, membership_grant
from sites.models import Membership

from ..factories import MembershipFactory, UserFactory
from ..helpers import writes_nothing

# Each blinded role beside each role that reads allocations.
CLASHES = [(b, r) for b in sorted(BLINDED_ROLES) for r in sorted(ARM_READERS)]


def place(world, role):
    return None if role in TRIAL_WIDE_ROLES else world.buc


def holding(world, role, *, username="someone", ends_on=None):
    user = UserFactory(username=username)
    MembershipFactory(
        user=user,
        trial=world.trial,
        site=place(world, role),
        role=role,
        starts_on=world.start,
        ends_on=ends_on,
    )
    return user


def grant(world, user, role, site=None, actor=None):
    return membership_grant(
        actor=actor or world.manager,
        channel=Channel.WEB,
        user=user,
        trial=world.trial,
        role=role,
        site=site,
    )


@pytest.mark.parametrize(("blinded", "reader"), CLASHES)
def test_a_reader_role_is_refused_to_someone_blinded_there(world, blinded, reader):
    user = holding(world, blinded)
    with writes_nothing(), pytest.raises(TrialError) as refused:
        grant(world, user, reader, place(world, reader))
    assert refused.value.field == "role"
    assert "unblind" in refused.value.message and "someone" in refused.value.message


@pytest.mark.parametrize(("blinded", "reader"), CLASHES)
def test_a_blinded_role_is_refused_to_someone_who_reads_arms_there(world, blinded, reader):
    user = holding(world, reader)
    with writes_nothing(), pytest.raises(TrialError) as refused:
        grant(world, user, blinded, place(world, blinded))
    assert refused.value.field == "role"
    assert "reads allocations" in refused.value.message


def test_someone_who_once_read_arms_at_the_site_cannot_be_blinded_there(world):
    user = holding(world, Role.SITE_COORDINATOR, ends_on=world.start + timedelta(days=5))
    with writes_nothing(), pytest.raises(TrialError) as refused:
        grant(world, user, Role.OUTCOME_ASSESSOR, world.buc)
    assert "has held site coordinator at BUC" in refused.value.message


def test_a_blinded_role_that_has_ended_no_longer_stands_in_the_way(world):
    user = holding(world, Role.OUTCOME_ASSESSOR)
    membership_end(
        membership=Membership.objects.get(user=user),
        actor=world.manager,
        channel=Channel.WEB,
        ends_on=today() - timedelta(days=1),
        reason="moved to coordination",
    )
    granted = grant(world, user, Role.SITE_COORDINATOR, world.buc)
    assert granted.role == Role.SITE_COORDINATOR


def test_blinded_at_one_site_and_a_reader_at_another_is_allowed(world):
    user = holding(world, Role.OUTCOME_ASSESSOR)
    granted = grant(world, user, Role.SITE_COORDINATOR, world.oxf)
    assert (granted.site, granted.role) == (world.oxf, Role.SITE_COORDINATOR)


def test_a_trial_wide_reader_role_is_refused_to_someone_blinded_at_any_site(world):
    with pytest.raises(TrialError, match="at BUC"):
        grant(world, world.assessor_buc, Role.TRIAL_MANAGER)


def test_two_blinded_roles_may_be_held_together(world):
    granted = grant(world, world.stats_blind, Role.OUTCOME_ASSESSOR, world.buc)
    assert granted.role == Role.OUTCOME_ASSESSOR


def test_the_review_cases_are_refused(world):
    """The grants the review made: the monitor role at BUC to BUC's blinded assessor and to
    the blinded statistician."""
    for user in (world.assessor_buc, world.stats_blind):
        with writes_nothing(), pytest.raises(TrialError):
            grant(world, user, Role.MONITOR, world.buc)


def test_the_page_refuses_and_says_why(world, page):
    client = page(world.manager)
    with writes_nothing():
        answer = client.post(
            "/people/",
            {"user": world.assessor_buc.pk, "role": Role.MONITOR, "site": world.buc.pk},
        )
    assert answer.status_code == 200
    assert "assessor.buc is an outcome assessor (blinded) at BUC" in answer.content.decode(), (
        answer.content.decode()
    )


def test_the_api_refuses_naming_the_role(world, api):
    with writes_nothing():
        answer = api(world.manager).post(
            "/api/v1/memberships/",
            {"user": world.stats_blind.pk, "role": Role.MONITOR, "site": world.buc.pk},
            format="json",
        )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "role" in error["fields"] and "statistician (blinded)" in error["message"]


def test_the_admin_grants_through_the_service_and_refuses_the_same(world, page):
    client = page(world.manager)
    form = {
        "trial": world.trial.pk,
        "user": world.assessor_buc.pk,
        "role": Role.MONITOR,
        "site": world.buc.pk,
        "starts_on": "",
    }
    with writes_nothing():
        answer = client.post("/admin/sites/membership/add/", form, follow=True)
    assert "would unblind them" in answer.content.decode()
    allowed = {**form, "user": UserFactory(username="new.monitor").pk}
    answer = client.post("/admin/sites/membership/add/", allowed)
    assert answer.status_code == 302
    made = Membership.objects.get(user__username="new.monitor")
    assert made.granted_by == world.manager
    assert made.history.first().history_user == world.manager


def test_the_command_refuses_and_grants(world):
    with writes_nothing(), pytest.raises(CommandError, match=r"role: assessor\.buc is an"):
        call_command("role_grant", "assessor.buc", "monitor", "--site", "BUC", "--as", "manager")
    UserFactory(username="new.pi")
    call_command(
        "role_grant", "new.pi", "principal_investigator", "--site", "OXF", "--as", "manager"
    )
    assert Membership.objects.filter(
        user__username="new.pi", site=world.oxf, role=Role.PRINCIPAL_INVESTIGATOR
    ).exists()
