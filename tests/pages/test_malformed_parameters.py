"""Malformed query and form parameters get a page or a 4xx, never a 500."""

import pytest


@pytest.mark.parametrize(
    ("who", "method", "url", "data"),
    [
        ("manager", "get", "/people/?site=abc", None),
        ("manager", "get", "/people/?site=9999", None),
        ("monitor.buc", "get", "/audit/?before=abc&site=xyz", None),
        ("coord.buc", "get", "/screening/?site=abc", None),
        ("stats.unblind", "post", "/statistics/", {"action": "seal", "list": "abc"}),
        (
            "stats.unblind",
            "post",
            "/statistics/",
            {"action": "generate", "mode": "x", "length": "y"},
        ),
        ("stats.blind", "get", "/statistics/?families=abc&runs=-1&block_sizes=a,b", None),
        ("monitor.buc", "post", "/audit/signoff/", {"site": "abc", "first_seq": "x"}),
    ],
)
def test_malformed_parameters_never_reach_a_500(world, page, who, method, url, data):
    client = page(world.users[who])
    answer = getattr(client, method)(url, data or {})
    assert answer.status_code < 500


@pytest.mark.parametrize(
    ("who", "data"),
    [
        ("coord.buc", {"action": "save", "revision": "abc", "item_1": "x"}),
        ("coord.buc", {"action": "answer", "query": "abc", "text": "t"}),
        ("monitor.buc", {"action": "close", "query": "99999"}),
        ("monitor.buc", {"action": "raise", "field": "", "text": ""}),
        ("monitor.buc", {"action": "nonsense"}),
        ("coord.buc", {"action": "save", "item_1": {"missing": "x"}, "item_2__missing": "zz"}),
    ],
)
def test_malformed_form_posts_never_reach_a_500(world, page, who, data):
    from tests.access import crf_family, crf_response

    url = f"/families/{crf_family(world).pk}/responses/{crf_response(world).pk}/"
    answer = page(world.users[who]).post(url, data)
    assert answer.status_code < 500


def test_malformed_entry_and_preview_posts_never_reach_a_500(world, page):
    from tests.access import crf_family, crf_response

    family = crf_family(world)
    client = page(world.coord_buc)
    for url in (
        f"/families/{family.pk}/enter/month_6/psoc/",
        f"/families/{family.pk}/forms/{crf_response(world).definition_id}/preview/",
        f"/families/{family.pk}/enter/any/psoc/",
        f"/families/{family.pk}/enter/month_6/no_such_form/",
    ):
        answer = client.post(url, {"item_1": "1e9", "completed_on": "2026-02-30"})
        assert answer.status_code < 500, url
