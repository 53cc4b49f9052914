from tests.crf.conftest import enter, randomised


def test_flow(world, page):
    family = randomised(world, days_ago=190)
    r = enter(world, family, "core10", "month_6", actor=world.assessor_buc)
    assert r.status == "complete"
    for user in (
        world.coord_buc,
        world.assessor_buc,
        world.monitor_buc,
        world.pi_buc,
        world.manager,
    ):
        c = page(user)
        assert c.get(f"/families/{family.pk}/casebook/").status_code == 200
        assert c.get(f"/families/{family.pk}/responses/{r.pk}/").status_code == 200
        assert c.get("/forms/").status_code == 200
    c = page(world.coord_buc)
    got = c.get(f"/families/{family.pk}/enter/month_6/psoc/")
    assert got.status_code == 200, got.content[:2000]
    got = c.post(f"/families/{family.pk}/forms/{r.definition_id}/preview/", {"item_1": "9"})
    assert b"must be at most" in got.content
    assert page(world.pi_buc).get(f"/families/{family.pk}/sign/").status_code == 200
