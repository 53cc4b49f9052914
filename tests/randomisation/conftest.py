import pytest

from core.channels import Channel
from randomisation.services import sequence_generate, sequence_seal


def sealed_list(world, *, mode="test", length=20, site=None):
    rlist = sequence_generate(
        trial=world.trial,
        actor=world.stats_unblind,
        channel=Channel.API,
        mode=mode,
        length=length,
        site=site,
    )
    return sequence_seal(rlist=rlist, actor=world.stats_unblind, channel=Channel.API)


@pytest.fixture
def test_list(world):
    return sealed_list(world)
