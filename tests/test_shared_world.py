"""The World that a module of many cases shares (tests/conftest.py `shared_world`): each
test finds it as it was made, whatever the test before wrote or changed. The two tests run
in this order, on one xdist worker."""

import pytest

from audit.models import AuditEvent
from core.channels import Channel
from sites.lifecycle import site_register
from sites.models import Site

pytestmark = pytest.mark.xdist_group("shared-world")


@pytest.fixture
def world(shared_world):
    return shared_world


@pytest.fixture(scope="module")
def made(_module_world):
    world, _ = _module_world
    return {"attributes": len(world.__dict__), "buc": world.buc.name}


def test_a_test_writes_through_a_service_and_changes_the_world(world, made):
    # A service's durable transaction opens inside the module's, as in a Django TestCase.
    site_register(
        trial=world.trial,
        actor=world.manager,
        channel=Channel.COMMAND,
        code="ZZZ",
        name="Written by the first test",
        nhs_trust="Trust",
        local_authority="Authority",
        recruitment_target=10,
    )
    world.buc.name = "Changed in memory and saved"
    world.buc.save()
    world._helper_cache = "made by a helper"
    assert Site.objects.filter(code="ZZZ").exists()
    assert AuditEvent.objects.filter(object_type="sites.Site").exists()


def test_the_next_test_finds_the_world_as_it_was_made(world, made):
    assert not Site.objects.filter(code="ZZZ").exists()
    assert world.buc.name == made["buc"]
    assert Site.objects.get(pk=world.buc.pk).name == made["buc"]
    assert not hasattr(world, "_helper_cache")
    assert len(world.__dict__) == made["attributes"]
