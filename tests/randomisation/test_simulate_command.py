import io
import json

import pytest
from django.core.management import CommandError, call_command

KEYS = {
    "correct_guess_probability",
    "mean_abs_imbalance",
    "p_abs_imbalance_ge",
    "mean_max_within_stratum_imbalance",
    "worst_factor_level_imbalance",
}


def run(*args) -> str:
    out = io.StringIO()
    call_command("randomisation_simulate", *args, stdout=out)
    return out.getvalue()


def test_json_report_compares_both_methods_on_the_trials_own_factors(world):
    report = json.loads(run("--runs", "40", "--families", "60", "--json"))
    assert set(report) == {"blocks", "minimisation", "recommendation"}
    for method in ("blocks", "minimisation"):
        assert set(report[method]) >= KEYS
        assert set(report[method]["guessers"]) == {"convergence", "informed"}
        # BUC, OXF and MKN may recruit; 2 legal statuses x 2 age bands from the definition.
        assert report[method]["design"]["strata"] == 12
        assert report[method]["design"]["factors"]["site"] == {
            "BUC": 1 / 3,
            "OXF": 1 / 3,
            "MKN": 1 / 3,
        }
        assert report[method]["design"]["arms"] == ["RECONNECT", "USUAL"]
    assert report["blocks"]["right_guesser"] == "convergence"
    assert report["minimisation"]["right_guesser"] == "informed"
    assert report["recommendation"]["summary"]


def test_text_report_prints_the_pages_rows_and_the_recommendation(world):
    text = " ".join(run("--runs", "20", "--families", "40").split())
    for words in (
        "Permuted blocks",
        "Minimisation",
        "Convergence guess: correct",
        "Informed guess: correct",
        "Mean final imbalance between the arms",
        "Recommendation:",
        "which understates it",
    ):
        assert words in text, words


def test_options_choose_method_blocks_strata_and_seed(world):
    a = json.loads(
        run(
            "--method",
            "blocks",
            "--block-sizes",
            "4",
            "--strata",
            "3",
            "--runs",
            "30",
            "--families",
            "24",
            "--seed",
            "7",
            "--json",
        )
    )
    b = json.loads(
        run(
            "--method",
            "blocks",
            "--block-sizes",
            "4",
            "--strata",
            "3",
            "--runs",
            "30",
            "--families",
            "24",
            "--seed",
            "7",
            "--json",
        )
    )
    assert a == b and a["design"]["block_sizes"] == [4] and a["design"]["strata"] == 3
    text = run("--method", "minimisation", "--p", "0.9", "--runs", "20", "--families", "30")
    assert "minimisation, p = 0.9" in text and "correct_guess_probability" in text
    assert "the informed guess" in text and "convergence guess" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--block-sizes", "3"], "multiple of the ratio"),
        (["--block-sizes", "two"], "whole numbers"),
        (["--families", "0"], "1 or more"),
        (["--trial", "XX"], "No trial XX"),
    ],
)
def test_bad_options_are_refused_clearly(world, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
