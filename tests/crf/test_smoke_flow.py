from tests.crf.conftest import enter, randomised


def test_flow(world):
    family = randomised(world, days_ago=190)
    r = enter(world, family, "core10", "month_6", actor=world.assessor_buc)
    assert r.status == "complete"
