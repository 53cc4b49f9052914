"""The design report against closed-form values from the literature."""

from math import comb

import pytest

from randomisation.simulation import Design, Factor, equal_strata, simulate


def blackwell_hodges(block: int) -> float:
    """Expected proportion of correct guesses under the convergence strategy for permuted
    blocks of fixed size 2m, 1:1 (Blackwell D, Hodges JL. Design for the control of selection
    bias. Ann Math Stat 1957;28:449-460; tabulated in Matts JP, Lachin JM. Properties of
    permuted-block randomization in clinical trials. Control Clin Trials 1988;9:327-344):
    E[correct per block] = m + 2^(2m-1) / C(2m, m) - 1/2."""
    m = block // 2
    return (m + 2 ** (2 * m - 1) / comb(2 * m, m) - 0.5) / (2 * m)


@pytest.mark.parametrize("block", [2, 4, 6, 8])
def test_correct_guess_probability_for_fixed_blocks_matches_the_closed_form(block):
    report = simulate(
        Design("blocks", block_sizes=(block,)), families=block * 30, runs=1500, seed=block
    )
    expected = blackwell_hodges(block)
    error = max(report["correct_guess_standard_error"], 1e-9)
    assert abs(report["correct_guess_probability"] - expected) < 4 * error + 1e-9, (
        report["correct_guess_probability"],
        expected,
    )


def test_the_closed_form_itself_matches_enumeration_for_blocks_of_4():
    # The six orders of AABB score 2.5, 3, 3, 3, 3, 2.5 correct guesses: 17/6 per block.
    assert blackwell_hodges(4) == pytest.approx(17 / 24)


def test_complete_fixed_blocks_end_balanced_in_one_stratum():
    report = simulate(Design("blocks", block_sizes=(4,)), families=40, runs=200, seed=1)
    assert report["mean_abs_imbalance"] == 0 and report["mean_max_within_stratum_imbalance"] == 0


def test_many_strata_leave_real_imbalance_and_minimisation_reduces_it():
    factors = (
        Factor("site", ("BUC", "OXF", "MKN", "RDG", "SWI"), (0.3, 0.3, 0.2, 0.1, 0.1)),
        Factor("legal", ("cp", "pp"), (0.6, 0.4)),
        Factor("age", ("young", "old"), (0.55, 0.45)),
    )
    blocked = simulate(Design("blocks", factors=factors), families=120, runs=300, seed=5)
    minimised = simulate(
        Design("minimisation", factors=factors, p=0.8), families=120, runs=300, seed=5
    )
    assert blocked["mean_abs_imbalance"] > 1.5 * minimised["mean_abs_imbalance"]
    assert (
        minimised["worst_factor_level_imbalance"]["mean"]
        < blocked["worst_factor_level_imbalance"]["mean"]
    )
    assert set(blocked["p_abs_imbalance_ge"]) >= {"1", "2"}
    assert blocked["design"]["strata"] == 20


def test_the_report_is_reproducible_from_its_seed():
    design = Design("blocks", factors=equal_strata(4))
    assert simulate(design, families=50, runs=20, seed=9) == simulate(
        design, families=50, runs=20, seed=9
    )


def test_probabilities_of_imbalance_fall_as_the_threshold_rises():
    report = simulate(Design("blocks", factors=equal_strata(8)), families=80, runs=300, seed=3)
    values = [
        report["p_abs_imbalance_ge"][str(k)]
        for k in range(1, len(report["p_abs_imbalance_ge"]) + 1)
    ]
    assert values == sorted(values, reverse=True) and 0 < values[0] <= 1
