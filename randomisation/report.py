"""The design report in words: both methods side by side, each judged by the guesser who
knows it, and a recommendation that weighs imbalance against that predictability. Pure: no
Django import. The statisticians' page and `randomisation_simulate` show the same rows."""

import math

from .simulation import MATERIAL_CHANCE, RIGHT_GUESSER, Design, simulate

METHODS = {"blocks": "Permuted blocks", "minimisation": "Minimisation"}
GUESSER_LABELS = {"convergence": "Convergence guess", "informed": "Informed guess"}
GUESSER_HINTS = {
    "convergence": "the arm furthest behind its share so far in the family's stratum",
    "informed": (
        "what someone who knows the design and has seen every earlier allocation guesses: "
        "for minimisation, the arm it prefers given the running totals for each factor level; "
        "for blocks, the convergence guess"
    ),
}
WHY_GUESSER = {
    "blocks": (
        "Judged by the convergence guess: blocks balance within each stratum, so someone who "
        "has seen the stratum's allocations guesses the arm behind there. For blocks that is "
        "the informed guess."
    ),
    "minimisation": (
        "Judged by the informed guess: minimisation balances the totals for each factor level, "
        "not the strata, so someone who knows it guesses the arm it prefers. The convergence "
        "guess understates how predictable it is."
    ),
}


def compare(
    blocks_design: Design, minimisation_design: Design, *, families: int, runs: int, seed: int
) -> dict:
    """Both methods side by side on the same factors, with the recommendation."""
    reports = {
        "blocks": simulate(blocks_design, families=families, runs=runs, seed=seed),
        "minimisation": simulate(minimisation_design, families=families, runs=runs, seed=seed),
    }
    return {**reports, "recommendation": recommend(reports["blocks"], reports["minimisation"])}


def percent(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def recommend(blocks_report: dict, minimisation_report: dict) -> dict:
    """A plain-language choice between the two methods, each judged by its right guesser.
    Minimisation when it balances better and is no more predictable; blocks when minimisation
    balances no better, or is more predictable while blocks' imbalance is not material;
    otherwise a trade-off for the statistician, with what to try next."""
    b, m = blocks_report, minimisation_report
    pb, pm = b["correct_guess_probability"], m["correct_guess_probability"]
    # A difference counts when it is beyond simulation error and at least a point.
    margin = max(
        0.01,
        2 * math.hypot(b["correct_guess_standard_error"], m["correct_guess_standard_error"]),
    )
    threshold = b["material_imbalance"]["threshold"]
    chance_b = b["material_imbalance"]["probability"]
    balances_better = m["mean_abs_imbalance"] < b["mean_abs_imbalance"]
    more_predictable = pm - pb > margin
    reasons = [
        "Predictability, judged by the guesser who knows each design: someone who knows "
        "minimisation and sees the running totals for each factor level guesses the next "
        f"allocation right {percent(pm)} of the time. Counting only within the family's "
        f"stratum would say {percent(m['guessers']['convergence']['probability'])}, which "
        "understates it. With blocks, guessing the arm behind in the stratum is right "
        f"{percent(pb)} of the time.",
        f"Imbalance after {b['families']} families: blocks leave a mean difference of "
        f"{b['mean_abs_imbalance']:.1f} between the arms (a {percent(chance_b)} chance of "
        f"{threshold} or more, a tenth of the families), minimisation "
        f"{m['mean_abs_imbalance']:.1f} (a {percent(m['material_imbalance']['probability'])} "
        "chance). In the worst factor level: "
        f"{b['worst_factor_level_imbalance']['mean']:.1f} with blocks, "
        f"{m['worst_factor_level_imbalance']['mean']:.1f} with minimisation.",
    ]
    if not balances_better:
        method = "blocks"
        summary = (
            "Choose permuted blocks: minimisation gives no better balance here, and blocks are "
            "simpler to run and to verify."
        )
    elif not more_predictable:
        method = "minimisation"
        summary = (
            "Choose minimisation: it balances better, and someone who knows it is no more "
            "likely to guess the next allocation than with blocks."
        )
    elif chance_b < MATERIAL_CHANCE:
        method = "blocks"
        summary = (
            "Choose permuted blocks: minimisation balances better, but blocks' imbalance is "
            f"already small (a {percent(chance_b)} chance of {threshold} or more), and "
            f"minimisation is easier to predict ({percent(pm)} against {percent(pb)})."
        )
    else:
        method = None
        summary = (
            "Neither design is clearly better: blocks risk material imbalance (a "
            f"{percent(chance_b)} chance of {threshold} or more), and minimisation is easier to "
            f"predict ({percent(pm)} against {percent(pb)}). Try fewer stratification factors "
            "or levels with blocks, or minimisation with a smaller p (more random), and run the "
            "report again. Give predictability more weight if those who recruit can see "
            "earlier allocations."
        )
    return {"method": method, "summary": summary, "reasons": reasons}


def _design_words(report: dict) -> str:
    d = report["design"]
    if d["method"] == "blocks":
        sizes = [str(s) for s in d["block_sizes"]]
        return "blocks of " + (
            ", ".join(sizes[:-1]) + " or " + sizes[-1] if len(sizes) > 1 else sizes[0]
        )
    return f"p = {d['p']:g}, {d['imbalance']} imbalance"


def _guess_words(figure: dict) -> str:
    return f"{percent(figure['probability'])} (± {percent(figure['standard_error'], 2)})"


def rows(comparison: dict) -> list[dict]:
    """The report's rows in words: a label and one cell per method (in METHODS' order), each
    a value and, in the guessers' rows, whether the method is judged by that guesser."""
    reports = [comparison[method] for method in METHODS]
    threshold = reports[0]["material_imbalance"]["threshold"]

    def row(label: str, values: list[str], right: list[bool] | None = None) -> dict:
        flags = right or [False] * len(values)
        return {
            "label": label,
            "cells": [{"value": v, "right": f} for v, f in zip(values, flags, strict=True)],
        }

    return [
        row("Design", [_design_words(r) for r in reports]),
        row("Strata", [str(r["design"]["strata"]) for r in reports]),
        row(
            "Judged by",
            [GUESSER_LABELS[RIGHT_GUESSER[r["design"]["method"]]].lower() for r in reports],
        ),
        *(
            row(
                f"{GUESSER_LABELS[g]}: correct",
                [_guess_words(r["guessers"][g]) for r in reports],
                [r["right_guesser"] == g for r in reports],
            )
            for g in GUESSER_LABELS
        ),
        row(
            "Mean final imbalance between the arms",
            [f"{r['mean_abs_imbalance']:.2f}" for r in reports],
        ),
        row(
            f"Chance of a final imbalance of {threshold} or more",
            [percent(r["material_imbalance"]["probability"]) for r in reports],
        ),
        row(
            "Mean largest imbalance within a stratum",
            [f"{r['mean_max_within_stratum_imbalance']:.2f}" for r in reports],
        ),
        row(
            "Worst factor level's imbalance: mean (largest)",
            [
                f"{r['worst_factor_level_imbalance']['mean']:.2f} "
                f"({r['worst_factor_level_imbalance']['max']:.0f})"
                for r in reports
            ],
        ),
    ]
