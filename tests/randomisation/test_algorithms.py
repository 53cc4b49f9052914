"""Properties of the allocation algorithms, apart from any database."""

from collections import Counter
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from randomisation.algorithms import (
    blocks,
    check_design,
    minimisation_scores,
    minimise,
    new_seed,
    permuted_blocks,
    stratum_rng,
)

RATIOS = st.sampled_from([(1, 1), (2, 1), (1, 2), (1, 1, 1), (2, 1, 1)])


@st.composite
def designs(draw):
    ratio = draw(RATIOS)
    total = sum(ratio)
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True))
    arms = tuple("ABCD"[: len(ratio)])
    return arms, ratio, tuple(total * k for k in sizes)


@given(designs(), st.integers(0, 2**128 - 1), st.integers(1, 300))
def test_every_complete_block_is_balanced_to_the_ratio(design, seed, length):
    arms, ratio, sizes = design
    for block in blocks(
        stratum_rng(seed, "s"), arms=arms, ratio=ratio, block_sizes=sizes, length=length
    ):
        assert len(block) in sizes
        counts = Counter(block)
        assert [counts[a] * sum(ratio) for a in arms] == [r * len(block) for r in ratio]


@given(
    st.lists(st.sampled_from([2, 4, 6, 8]), min_size=1, max_size=3, unique=True),
    st.integers(0, 2**128 - 1),
    st.integers(1, 400),
)
def test_within_stratum_imbalance_never_exceeds_half_the_largest_block(sizes, seed, length):
    allocations = permuted_blocks(
        stratum_rng(seed, "s"), arms=("A", "B"), ratio=(1, 1), block_sizes=sizes, length=length
    )
    assert len(allocations) == length
    running = np.cumsum([1 if a == "A" else -1 for a in allocations])
    assert np.abs(running).max() <= max(sizes) // 2


@given(st.integers(0, 2**128 - 1), st.text(min_size=1, max_size=30))
def test_the_same_seed_and_stratum_give_the_same_list(seed, stratum):
    def make():
        return permuted_blocks(
            stratum_rng(seed, stratum),
            arms=("A", "B"),
            ratio=(1, 1),
            block_sizes=(2, 4, 6),
            length=60,
        )

    assert make() == make()


def test_different_strata_and_versions_get_independent_lists():
    seed = new_seed()
    lists = {
        permuted_blocks(
            stratum_rng(seed, name, version=v),
            arms=("A", "B"),
            ratio=(1, 1),
            block_sizes=(2, 4, 6),
            length=60,
        ).__repr__()
        for name in ("BUC|cp|young", "BUC|cp|old", "OXF|cp|young")
        for v in ("1", "2")
    }
    assert len(lists) == 6


def test_a_seed_has_128_bits():
    assert all(0 <= new_seed() < 2**128 for _ in range(20))
    assert len({new_seed() for _ in range(20)}) == 20


@pytest.mark.parametrize(
    ("arms", "ratio", "sizes"),
    [
        (("A",), (1,), (2,)),
        (("A", "B"), (1, 1), (3,)),
        (("A", "B"), (2, 1), (2,)),
        (("A", "B"), (1, 0), (2,)),
        (("A", "A"), (1, 1), (2,)),
        (("A", "B"), (1, 1), ()),
    ],
)
def test_a_design_that_cannot_balance_is_refused(arms, ratio, sizes):
    with pytest.raises(ValueError):
        check_design(arms, ratio, sizes)


LEVELS = {"site": ["BUC", "OXF", "MKN"], "legal": ["cp", "pp"], "age": ["young", "old"]}


@st.composite
def minimisation_states(draw):
    arms = ("A", "B", "C")[: draw(st.integers(2, 3))]
    ratio = tuple(draw(st.integers(1, 2)) for _ in arms)
    counts = {
        (f, level, a): draw(st.integers(0, 12))
        for f, levels in LEVELS.items()
        for level in levels
        for a in arms
    }
    newcomer = {f: draw(st.sampled_from(levels)) for f, levels in LEVELS.items()}
    weights = {f: draw(st.sampled_from([0.5, 1.0, 2.0])) for f in LEVELS}
    return arms, ratio, counts, newcomer, weights


@settings(max_examples=300)
@given(minimisation_states(), st.sampled_from(["range", "variance"]), st.integers(0, 2**64))
def test_minimisation_with_p_1_always_picks_an_arm_that_minimises_imbalance(state, method, seed):
    arms, ratio, counts, newcomer, weights = state
    rng = np.random.default_rng(seed)
    chosen = minimise(
        rng,
        arms=arms,
        ratio=ratio,
        levels=newcomer,
        counts=counts,
        weights=weights,
        method=method,
        p=1.0,
    )
    scores = minimisation_scores(
        arms=arms, ratio=ratio, levels=newcomer, counts=counts, weights=weights, method=method
    )
    assert scores[arms.index(chosen)] == pytest.approx(min(scores))


def test_minimisation_with_p_below_1_sometimes_takes_another_arm():
    counts = {("site", "BUC", "A"): 5, ("site", "BUC", "B"): 0}
    rng = np.random.default_rng(3)
    picks = Counter(
        minimise(
            rng,
            arms=("A", "B"),
            ratio=(1, 1),
            levels={"site": "BUC"},
            counts=counts,
            weights={},
            p=0.8,
        )
        for _ in range(4000)
    )
    assert 0.77 < picks["B"] / 4000 < 0.83


def test_block_counts_match_the_binomial_enumeration():
    """A block of 4 holds 2 and 2 in one of C(4,2) = 6 orders, each equally likely."""
    rng = stratum_rng(11, "s")
    orders = Counter(
        "".join(b)
        for b in blocks(rng, arms=("A", "B"), ratio=(1, 1), block_sizes=(4,), length=4 * 12000)
    )
    assert len(orders) == comb(4, 2)
    assert all(abs(n / 12000 - 1 / 6) < 0.015 for n in orders.values())
