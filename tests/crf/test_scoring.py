"""CORE-10 scored against worked examples computed by hand (rules from the trial's facts:
items 0-4, items 2 and 3 reverse-scored, total 0-40, prorated with at most one missing)."""

from decimal import Decimal
from pathlib import Path

import pytest

from crf.scoring import alerts, scores
from crf.spec import parse_spec, read_spec
from crf.validation import check

CORE10 = Path(__file__).resolve().parents[2] / "crf" / "forms" / "core10-v1.yaml"


@pytest.fixture
def core10():
    return read_spec(CORE10)


def answers(*items) -> dict:
    return {f"item_{n}": v for n, v in enumerate(items, start=1) if v is not None}


def test_all_zero_with_the_reverse_keys_turned_round(core10):
    # items 2 and 3 answered 0 count as 4 each: total 8.
    assert scores(core10, answers(0, 0, 0, 0, 0, 0, 0, 0, 0, 0))["total"].value == Decimal("8")


def test_a_worked_example(core10):
    # 3 + (4-1) + (4-4) + 2 + 0 + 1 + 4 + 2 + 3 + 1 = 19
    result = scores(core10, answers(3, 1, 4, 2, 0, 1, 4, 2, 3, 1))["total"]
    assert (result.value, result.prorated, result.missing) == (Decimal("19"), False, 0)


def test_the_extremes_reach_0_and_40(core10):
    assert scores(core10, answers(0, 4, 4, 0, 0, 0, 0, 0, 0, 0))["total"].value == 0
    assert scores(core10, answers(4, 0, 0, 4, 4, 4, 4, 4, 4, 4))["total"].value == 40


def test_one_missing_item_is_prorated(core10):
    # Item 10 missing: 9 answered summing to 18 (item 2: 4-1=3, item 3: 4-4=0),
    # 3+3+0+2+0+1+4+2+3 = 18; prorated 18 / 9 * 10 = 20.
    result = scores(core10, answers(3, 1, 4, 2, 0, 1, 4, 2, 3, None))["total"]
    assert (result.value, result.prorated, result.missing) == (Decimal("20.00"), True, 1)


def test_two_missing_items_give_no_score(core10):
    result = scores(core10, answers(3, 1, 4, 2, 0, 1, 4, 2, None, None))["total"]
    assert result.value is None and "2 items missing" in result.reason


def test_a_declined_item_counts_as_missing_not_as_zero(core10):
    values = check(
        core10,
        {
            **answers(3, 1, 4, 2, 0, 1, 4, 2, 3, None),
            "item_10": {"missing": "declined"},
            "completed_on": "2026-11-01",
        },
    )
    assert values.complete and scores(core10, values.values)["total"].value == Decimal("20.00")


def test_the_risk_item_above_zero_alerts(core10):
    assert alerts(core10, answers(0, 0, 0, 0, 0, 1, 0, 0, 0, 0)) == ["risk"]
    assert alerts(core10, answers(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)) == []


def test_an_unconfirmed_rule_leaves_the_score_uncomputed():
    spec = parse_spec(
        {
            "form": "x",
            "version": 1,
            "fields": [
                {"key": "i", "type": "grid", "label": "Items", "items": 4, "min": 1, "max": 5}
            ],
            "scoring": [
                {
                    "key": "total",
                    "method": "sum",
                    "grid": "i",
                    "status": "unconfirmed",
                    "note": "reverse keys not in a public source",
                }
            ],
        }
    )
    result = scores(spec, {"i_1": 1, "i_2": 2, "i_3": 3, "i_4": 4})["total"]
    assert result.value is None and "not confirmed" in result.reason


def test_a_mean_score_of_a_subscale():
    spec = parse_spec(
        {
            "form": "x",
            "version": 1,
            "fields": [
                {"key": "i", "type": "grid", "label": "Items", "items": 6, "min": 1, "max": 7}
            ],
            "scoring": [
                {
                    "key": "sub",
                    "method": "mean",
                    "grid": "i",
                    "items": [1, 3, 5],
                    "reverse": [3],
                    "prorate_max_missing": 1,
                }
            ],
        }
    )
    # items 1, 3 (reversed: 8-2=6), 5 = 4, 6, 5: mean 5.
    assert scores(spec, {"i_1": 4, "i_3": 2, "i_5": 5})["sub"].value == Decimal("5.00")
    # one missing: the mean of the other two, 4 and 6 = 5.
    assert scores(spec, {"i_1": 4, "i_3": 2})["sub"].value == Decimal("5.00")
