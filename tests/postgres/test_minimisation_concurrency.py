"""32 concurrent clients randomise 1,000 families by minimisation on PostgreSQL: each
family once, the positions gapless, and the replay from the sealed seed verifies every
allocation, which it can only do if each one saw all the earlier ones."""

import pytest

from audit.verification import verify_ledger
from core.channels import Channel
from randomisation.models import Allocation, MinimisationStep
from randomisation.services import family_randomise
from randomisation.verification import verify_lists

from ..access import consent_v1
from ..randomisation.bulk import bulk_families
from ..randomisation.conftest import sealed_list
from ..randomisation.minimising import minimising
from .test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS, FAMILIES = 32, 1000


def test_32_clients_randomise_1000_families_by_minimisation_and_the_replay_verifies(world):
    minimising(world)
    sealed_list(world)
    half = FAMILIES // 2
    families = bulk_families(world, world.buc, consent_v1(world), half) + bulk_families(
        world, world.oxf, consent_v1(world), half, start=half + 1
    )
    share = [families[i::CLIENTS] for i in range(CLIENTS)]

    def client(i: int) -> int:
        for family in share[i]:
            actor = world.coord_buc if family.site_id == world.buc.pk else world.coord_oxf
            family_randomise(family=family, actor=actor, channel=Channel.API)
        return len(share[i])

    results = race(CLIENTS, client)
    assert results == [len(s) for s in share], [r for r in results if not isinstance(r, int)][:3]
    assert Allocation.objects.count() == FAMILIES
    assert Allocation.objects.values("family").distinct().count() == FAMILIES
    positions = sorted(MinimisationStep.objects.values_list("position", flat=True))
    assert positions == list(range(1, FAMILIES + 1))
    assert verify_lists() == (FAMILIES, [])
    assert verify_ledger().intact
