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
