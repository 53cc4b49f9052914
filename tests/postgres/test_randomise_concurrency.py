"""32 concurrent clients randomise 2,000 families in four strata on PostgreSQL: every slot
is used exactly once, none skipped, and the audit chain stays whole."""

from collections import defaultdict

import pytest

from audit.verification import verify_ledger
from core.channels import Channel
from randomisation.models import Allocation
from randomisation.services import family_randomise
from randomisation.verification import verify_lists

from ..access import consent_v1
from ..randomisation.bulk import bulk_families
from ..randomisation.conftest import sealed_list
from .test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS, FAMILIES = 32, 2000


@pytest.mark.requirement("RND-1")
def test_32_clients_randomise_2000_families_using_every_slot_once(world):
    sealed_list(world, length=700)
    families = bulk_families(world, world.buc, consent_v1(world), FAMILIES)
    share = [families[i::CLIENTS] for i in range(CLIENTS)]

    def client(i: int) -> int:
        for family in share[i]:
            family_randomise(family=family, actor=world.coord_buc, channel=Channel.API)
        return len(share[i])

    results = race(CLIENTS, client)
    assert results == [len(s) for s in share], [r for r in results if not isinstance(r, int)][:3]
    allocations = list(Allocation.objects.select_related("slot", "stratum"))
    assert len(allocations) == FAMILIES and len({a.family_id for a in allocations}) == FAMILIES
    positions = defaultdict(list)
    for a in allocations:
        positions[a.stratum.key].append(a.slot.position)
        assert a.arm == a.slot.arm
    assert len(positions) == 4  # BUC x two legal statuses x two age bands
    for key, used in positions.items():
        assert sorted(used) == list(range(1, len(used) + 1)), key  # no slot skipped or reused
    checked, found = verify_lists()
    assert (checked, found) == (FAMILIES, [])
    assert verify_ledger().intact
