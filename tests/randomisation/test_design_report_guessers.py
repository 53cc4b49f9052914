"""The design report's two guessers: the informed guess for minimisation checked against an
independent simulation written here, and the guessers' properties."""

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from randomisation.simulation import Design, Factor, simulate, trace


def independent_informed_guess(
    factors: list[tuple[str, list[float]]],
    *,
    weights: dict[str, float],
    imbalance: str,
    p: float,
    families: int,
    runs: int,
    seed: int,
) -> tuple[float, float]:
    """Pocock-Simon minimisation of two arms 1:1, and the share of allocations a guesser who
    sees the totals per factor level gets right by guessing the arm it prefers (a tie of
    both arms scores one half). Returns the mean share over runs and its standard error."""
    rng = random.Random(seed)
    shares = []
    for _ in range(runs):
        totals = {}  # (factor, level) -> [count in arm 0, count in arm 1]
        credit = 0.0
        for _ in range(families):
            levels = [(name, rng.choices(range(len(freq)), freq)[0]) for name, freq in factors]
            scores = []
            for arm in (0, 1):
                score = 0.0
                for key in levels:
                    after = list(totals.get(key, [0, 0]))
                    after[arm] += 1
                    gap = abs(after[0] - after[1])
                    score += weights.get(key[0], 1.0) * (
                        gap if imbalance == "range" else gap**2 / 2
                    )
                scores.append(score)
            if scores[0] == scores[1]:
                arm, credit = rng.randrange(2), credit + 0.5
            else:
                preferred = 0 if scores[0] < scores[1] else 1
                arm = preferred if rng.random() < p else 1 - preferred
                credit += arm == preferred
            for key in levels:
                totals.setdefault(key, [0, 0])[arm] += 1
        shares.append(credit / families)
    mean = sum(shares) / runs
    spread = math.sqrt(sum((s - mean) ** 2 for s in shares) / (runs - 1))
    return mean, spread / math.sqrt(runs)


TWO_FACTORS = {
    "factors": [("site", [0.5, 0.3, 0.2]), ("legal", [0.6, 0.4])],
    "weights": {},
    "imbalance": "range",
    "p": 0.8,
}
THREE_FACTORS = {
    "factors": [("site", [0.4, 0.3, 0.2, 0.1]), ("legal", [0.6, 0.4]), ("age", [0.55, 0.45])],
    "weights": {"site": 2.0},
    "imbalance": "variance",
    "p": 0.9,
}


def as_design(spec: dict) -> Design:
    return Design(
        "minimisation",
        factors=tuple(
            Factor(name, tuple(f"{name}{i}" for i in range(len(freq))), tuple(freq))
            for name, freq in spec["factors"]
        ),
        p=spec["p"],
        weights=spec["weights"],
        imbalance=spec["imbalance"],
    )


@pytest.mark.parametrize("spec", [TWO_FACTORS, THREE_FACTORS], ids=["2 factors", "3 factors"])
def test_the_informed_guess_for_minimisation_agrees_with_an_independent_simulation(spec):
    families, runs = 60, 400
    report = simulate(as_design(spec), families=families, runs=runs, seed=11)
    expected, expected_error = independent_informed_guess(
        spec["factors"],
        weights=spec["weights"],
        imbalance=spec["imbalance"],
        p=spec["p"],
        families=families,
        runs=runs,
        seed=12,
    )
    informed = report["guessers"]["informed"]
    assert abs(informed["probability"] - expected) < 4 * math.hypot(
        informed["standard_error"], expected_error
    ), (informed, expected, expected_error)
    assert report["right_guesser"] == "informed"
    assert report["correct_guess_probability"] == informed["probability"]


@pytest.mark.parametrize("spec", [TWO_FACTORS, THREE_FACTORS], ids=["2 factors", "3 factors"])
def test_the_convergence_guess_understates_how_predictable_minimisation_is(spec):
    guessers = simulate(as_design(spec), families=60, runs=100, seed=3)["guessers"]
    assert guessers["informed"]["probability"] > guessers["convergence"]["probability"] + 0.05


def test_blocks_are_judged_by_the_convergence_guess_which_is_their_informed_guess():
    factors = (Factor("site", ("a", "b", "c"), (0.5, 0.3, 0.2)),)
    report = simulate(Design("blocks", factors=factors), families=60, runs=50, seed=4)
    assert report["right_guesser"] == "convergence"
    assert report["guessers"]["informed"] == report["guessers"]["convergence"]
    assert report["correct_guess_probability"] == report["guessers"]["convergence"]["probability"]


RATIOS = st.sampled_from([(1, 1), (2, 1), (1, 1, 1), (3, 2)])


@st.composite
def factors(draw):
    out = []
    for number in range(draw(st.integers(1, 3))):
        count = draw(st.integers(2, 4))
        freq = draw(st.lists(st.integers(1, 9), min_size=count, max_size=count))
        out.append(Factor(f"f{number}", tuple(f"l{i}" for i in range(count)), tuple(freq)))
    return tuple(out)


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


@settings(max_examples=60, deadline=None)
@given(
    RATIOS,
    factors(),
    st.sampled_from(["range", "variance"]),
    st.dictionaries(st.sampled_from(["f0", "f1", "f2"]), st.sampled_from([0.5, 1.0, 2.0, 3.0])),
    st.integers(1, 80),
    st.integers(0, 2**64 - 1),
)
def test_with_p_1_the_informed_guesser_is_right_whenever_minimisation_has_one_preference(
    ratio, design_factors, imbalance, weights, families, seed
):
    design = Design(
        "minimisation",
        arms=tuple("ABC"[: len(ratio)]),
        ratio=ratio,
        factors=design_factors,
        p=1.0,
        weights=weights,
        imbalance=imbalance,
    )
    steps = trace(design, families, _rng(seed))
    assert len(steps) == families
    for step in steps:
        if len(step.informed) == 1:
            assert step.credit("informed") == 1
        else:  # a tie: the arm is one of the tied arms, scored as their share
            assert step.credit("informed") == 1 / len(step.informed)


@settings(max_examples=60, deadline=None)
@given(
    RATIOS,
    st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True),
    factors(),
    st.integers(1, 120),
    st.integers(0, 2**64 - 1),
)
def test_the_convergence_guess_is_right_on_the_last_allocation_of_every_block(
    ratio, multiples, design_factors, families, seed
):
    design = Design(
        "blocks",
        arms=tuple("ABC"[: len(ratio)]),
        ratio=ratio,
        block_sizes=tuple(sum(ratio) * k for k in multiples),
        factors=design_factors,
    )
    steps = trace(design, families, _rng(seed))
    ends = [s for s in steps if s.block_end]
    for step in ends:
        assert step.convergence == (step.arm,) and step.credit("convergence") == 1
    # A stratum that has had as many families as the largest block has ended a block.
    seen: dict[tuple, int] = {}
    for s in steps:
        seen[s.stratum] = seen.get(s.stratum, 0) + 1
    assert {k for k, n in seen.items() if n >= max(design.block_sizes)} <= {s.stratum for s in ends}
