"""The shipped instrument specs load, and score worked examples computed by hand."""

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from crf.scoring import scores
from crf.spec import read_spec

FORMS = Path(__file__).resolve().parents[2] / "crf" / "forms"


@pytest.mark.parametrize("path", sorted(FORMS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_spec_loads(path):
    spec = read_spec(path)
    definition = yaml.safe_load((FORMS.parents[1] / "trial/definitions/reconnect.yaml").read_text())
    assert spec.sources and set(spec.sources) <= set(definition["data_sources"])
    assert path.name == f"{spec.form.replace('_', '-')}-v{spec.version}.yaml"


def grid(values: list[int | None]) -> dict:
    return {f"item_{n}": v for n, v in enumerate(values, start=1) if v is not None}


def test_psi4sf_subscales_and_total():
    spec = read_spec(FORMS / "psi4sf-v1.yaml")
    # 12 items of 1, 12 of 3, 12 of 5: subscales 12, 36, 60; total 108.
    result = scores(spec, grid([1] * 12 + [3] * 12 + [5] * 12))
    assert [
        result[k].value
        for k in (
            "parental_distress",
            "parent_child_dysfunctional_interaction",
            "difficult_child",
            "total",
        )
    ] == [12, 36, 60, 108]


def test_psi4sf_any_missing_item_leaves_its_scores_uncomputed():
    spec = read_spec(FORMS / "psi4sf-v1.yaml")
    result = scores(spec, grid([2] * 11 + [None] + [2] * 24))
    assert result["parental_distress"].value is None and result["total"].value is None
    assert result["difficult_child"].value == Decimal("24")


def test_psoc_reverses_the_efficacy_items():
    spec = read_spec(FORMS / "psoc-v1.yaml")
    # Everyone answers 6 (strongly disagree): satisfaction 9 x 6 = 54; efficacy items turn
    # round to 1: 7 x 1 = 7; total 61.
    result = scores(spec, grid([6] * 16))
    assert (result["satisfaction"].value, result["efficacy"].value, result["total"].value) == (
        Decimal("54"),
        Decimal("7"),
        Decimal("61"),
    )
    # The most competent answers: agree (1) with efficacy items, disagree (6) with the rest.
    best = grid([1 if n in (1, 6, 7, 10, 11, 13, 15) else 6 for n in range(1, 17)])
    assert scores(spec, best)["total"].value == Decimal("96")


def test_prfq_is_left_uncomputed_until_its_items_are_confirmed():
    spec = read_spec(FORMS / "prfq-v1.yaml")
    result = scores(spec, grid([4] * 18))
    assert all(r.value is None and "not confirmed" in r.reason for r in result.values())
