"""Simulates a randomisation design before go-live. Pure numpy: no Django import.

For each run, families arrive with factor levels drawn at the given frequencies and are
allocated by the design. The report gives the figures a statistician chooses a design by:
predictability (the convergence strategy's correct guesses) and imbalance (overall, within
strata, within any factor level)."""

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .algorithms import blocks, minimise


@dataclass(frozen=True)
class Factor:
    name: str
    levels: tuple[str, ...]
    frequencies: tuple[float, ...]


@dataclass(frozen=True)
class Design:
    method: str  # "blocks" or "minimisation"
    arms: tuple[str, ...] = ("A", "B")
    ratio: tuple[int, ...] = (1, 1)
    block_sizes: tuple[int, ...] = (2, 4, 6)
    factors: tuple[Factor, ...] = ()
    p: float = 0.8  # minimisation's chance of taking the preferred arm
    weights: dict[str, float] = field(default_factory=dict)
    imbalance: str = "range"


def equal_strata(n: int) -> tuple[Factor, ...]:
    """`n` equally likely strata, as one factor."""
    return (Factor("stratum", tuple(f"s{i + 1}" for i in range(n)), tuple([1.0 / n] * n)),)


def _guess_credit(counts: Counter, ratio: Sequence[int], arms: Sequence[str], actual: str) -> float:
    """Convergence strategy: guess the arm furthest behind its share so far in the stratum;
    among a tie, each tied arm is guessed with equal chance (a tie of two scores one half)."""
    scaled = [counts[a] / r for a, r in zip(arms, ratio, strict=True)]
    low = min(scaled)
    tied = [a for a, s in zip(arms, scaled, strict=True) if s == low]
    return 1.0 / len(tied) if actual in tied else 0.0


def _abs_imbalance(counts: Counter, arms: Sequence[str], ratio: Sequence[int]) -> float:
    scaled = [counts[a] / r for a, r in zip(arms, ratio, strict=True)]
    return max(scaled) - min(scaled)


def run_once(design: Design, families: int, rng: np.random.Generator) -> dict:
    arms, ratio = design.arms, design.ratio
    factors = design.factors or equal_strata(1)
    draws = [
        rng.choice(len(f.levels), size=families, p=np.asarray(f.frequencies) / sum(f.frequencies))
        for f in factors
    ]
    by_stratum: dict[tuple, Counter] = {}
    by_level: dict[tuple[str, str], Counter] = {}
    lists: dict[tuple, list[str]] = {}
    counts_for_min: dict[tuple[str, str, str], int] = {}
    overall: Counter = Counter()
    credit = 0.0
    for i in range(families):
        levels = {f.name: f.levels[d[i]] for f, d in zip(factors, draws, strict=True)}
        stratum = tuple(levels.values())
        seen = by_stratum.setdefault(stratum, Counter())
        if design.method == "blocks":
            if stratum not in lists:
                lists[stratum] = [
                    a
                    for b in blocks(
                        rng, arms=arms, ratio=ratio, block_sizes=design.block_sizes, length=families
                    )
                    for a in b
                ]
            arm = lists[stratum][sum(seen.values())]
        elif design.method == "minimisation":
            arm = minimise(
                rng,
                arms=arms,
                ratio=ratio,
                levels=levels,
                counts=counts_for_min,
                weights=design.weights,
                method=design.imbalance,
                p=design.p,
            )
        else:
            raise ValueError("method must be blocks or minimisation")
        credit += _guess_credit(seen, ratio, arms, arm)
        seen[arm] += 1
        overall[arm] += 1
        for name, level in levels.items():
            by_level.setdefault((name, level), Counter())[arm] += 1
            counts_for_min[(name, level, arm)] = counts_for_min.get((name, level, arm), 0) + 1
    return {
        "correct": credit / families,
        "abs_imbalance": _abs_imbalance(overall, arms, ratio),
        "max_within_stratum": max(_abs_imbalance(c, arms, ratio) for c in by_stratum.values()),
        "worst_factor_level": max(_abs_imbalance(c, arms, ratio) for c in by_level.values()),
    }


def simulate(design: Design, *, families: int, runs: int, seed: int) -> dict:
    """The design report. Keys as the statistician's page and `--json` give them."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    results = [run_once(design, families, rng) for _ in range(runs)]
    correct = np.asarray([r["correct"] for r in results])
    imbalance = np.asarray([r["abs_imbalance"] for r in results])
    within = np.asarray([r["max_within_stratum"] for r in results])
    worst = np.asarray([r["worst_factor_level"] for r in results])
    top = int(imbalance.max()) if len(imbalance) else 0
    return {
        "design": {
            "method": design.method,
            "arms": list(design.arms),
            "ratio": list(design.ratio),
            "block_sizes": list(design.block_sizes) if design.method == "blocks" else None,
            "p": design.p if design.method == "minimisation" else None,
            "strata": int(np.prod([len(f.levels) for f in design.factors]))
            if design.factors
            else 1,
            "factors": {
                f.name: dict(zip(f.levels, f.frequencies, strict=True)) for f in design.factors
            },
        },
        "families": families,
        "runs": runs,
        "seed": seed,
        "correct_guess_probability": float(correct.mean()),
        "correct_guess_standard_error": float(correct.std(ddof=1) / np.sqrt(runs))
        if runs > 1
        else 0.0,
        "mean_abs_imbalance": float(imbalance.mean()),
        "p_abs_imbalance_ge": {
            str(k): float((imbalance >= k).mean()) for k in range(1, max(top, 1) + 1)
        },
        "mean_max_within_stratum_imbalance": float(within.mean()),
        "worst_factor_level_imbalance": {"mean": float(worst.mean()), "max": float(worst.max())},
    }


def all_strata(factors: Sequence[Factor]) -> list[tuple[str, ...]]:
    return list(itertools.product(*(f.levels for f in factors)))
