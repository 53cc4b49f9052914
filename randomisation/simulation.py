"""Simulates a randomisation design before go-live. Pure numpy: no Django import.

For each run, families arrive with factor levels drawn at the given frequencies and are
allocated by the design. The report gives the figures a statistician chooses a design by:
imbalance (overall, within strata, within any factor level) and predictability, as the share
of allocations two guessers get right:

- the convergence guess: the arm furthest behind its share so far in the family's stratum;
- the informed guess: what someone who knows the design and has seen every earlier allocation
  would guess. For minimisation that is the arm minimisation prefers, given the running totals
  per factor level (the Pocock-Simon scores with the design's weights and imbalance measure);
  for blocks it is the convergence guess, since blocks work within the stratum.

Each method is judged by its informed guesser: the convergence guess understates how
predictable minimisation is, because minimisation does not balance within strata."""

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .algorithms import blocks, minimisation_scores, minimise

GUESSERS = ("convergence", "informed")
RIGHT_GUESSER = {"blocks": "convergence", "minimisation": "informed"}
# Imbalance counts as material when the final imbalance reaches this share of the families
# with at least MATERIAL_CHANCE probability.
MATERIAL_SHARE, MATERIAL_CHANCE = 0.10, 0.05


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


@dataclass(frozen=True)
class Step:
    """One simulated allocation, with each guesser's candidates (the arms it would choose
    between at random) and its credit: 1/k if the arm is one of k candidates, else 0."""

    stratum: tuple[str, ...]
    arm: str
    convergence: tuple[str, ...]
    informed: tuple[str, ...]
    block_end: bool = False  # blocks: the last allocation of its block

    def credit(self, guesser: str) -> float:
        candidates = getattr(self, guesser)
        return 1.0 / len(candidates) if self.arm in candidates else 0.0


def equal_strata(n: int) -> tuple[Factor, ...]:
    """`n` equally likely strata, as one factor."""
    return (Factor("stratum", tuple(f"s{i + 1}" for i in range(n)), tuple([1.0 / n] * n)),)


def _lowest(arms: Sequence[str], values: Sequence[float]) -> tuple[str, ...]:
    """The arms whose value is the lowest, equal as `numpy.isclose` has it (as `minimise`
    ties its scores), without numpy's cost on a handful of numbers."""
    low = min(values)
    return tuple(
        a for a, v in zip(arms, values, strict=True) if abs(v - low) <= 1e-8 + 1e-5 * abs(low)
    )


def convergence_guess(
    counts: Counter, arms: Sequence[str], ratio: Sequence[int]
) -> tuple[str, ...]:
    """The arms furthest behind their share so far in the stratum."""
    return _lowest(arms, [counts[a] / r for a, r in zip(arms, ratio, strict=True)])


def informed_minimisation_guess(
    design: Design, levels: dict[str, str], counts: dict[tuple[str, str, str], int]
) -> tuple[str, ...]:
    """The arms minimisation prefers for a newcomer with `levels`, given the running totals
    per factor level: those of lowest Pocock-Simon score, tied as `minimise` ties them."""
    scores = minimisation_scores(
        arms=design.arms,
        ratio=design.ratio,
        levels=levels,
        counts=counts,
        weights=design.weights,
        method=design.imbalance,
    )
    return _lowest(design.arms, scores)


def _abs_imbalance(counts: Counter, arms: Sequence[str], ratio: Sequence[int]) -> float:
    scaled = [counts[a] / r for a, r in zip(arms, ratio, strict=True)]
    return max(scaled) - min(scaled)


def trace(design: Design, families: int, rng: np.random.Generator) -> list[Step]:
    """One simulated trial of `families` allocations, in order of arrival."""
    if design.method not in RIGHT_GUESSER:
        raise ValueError("method must be blocks or minimisation")
    arms, ratio = design.arms, design.ratio
    factors = design.factors or equal_strata(1)
    draws = [
        rng.choice(len(f.levels), size=families, p=np.asarray(f.frequencies) / sum(f.frequencies))
        for f in factors
    ]
    by_stratum: dict[tuple, Counter] = {}
    lists: dict[tuple, list[tuple[str, bool]]] = {}
    totals: dict[tuple[str, str, str], int] = {}
    steps = []
    for i in range(families):
        levels = {f.name: f.levels[d[i]] for f, d in zip(factors, draws, strict=True)}
        stratum = tuple(levels.values())
        seen = by_stratum.setdefault(stratum, Counter())
        converge = convergence_guess(seen, arms, ratio)
        block_end = False
        if design.method == "blocks":
            if stratum not in lists:
                drawn = blocks(
                    rng, arms=arms, ratio=ratio, block_sizes=design.block_sizes, length=families
                )
                lists[stratum] = [(a, j == len(b) - 1) for b in drawn for j, a in enumerate(b)]
            arm, block_end = lists[stratum][sum(seen.values())]
            informed = converge
        else:
            informed = informed_minimisation_guess(design, levels, totals)
            arm = minimise(
                rng,
                arms=arms,
                ratio=ratio,
                levels=levels,
                counts=totals,
                weights=design.weights,
                method=design.imbalance,
                p=design.p,
            )
        steps.append(Step(stratum, arm, converge, informed, block_end))
        seen[arm] += 1
        for name, level in levels.items():
            totals[(name, level, arm)] = totals.get((name, level, arm), 0) + 1
    return steps


def run_once(design: Design, families: int, rng: np.random.Generator) -> dict:
    steps = trace(design, families, rng)
    names = [f.name for f in design.factors or equal_strata(1)]
    arms, ratio = design.arms, design.ratio
    overall = Counter(s.arm for s in steps)
    by_stratum: dict[tuple, Counter] = {}
    by_level: dict[tuple[str, str], Counter] = {}
    for s in steps:
        by_stratum.setdefault(s.stratum, Counter())[s.arm] += 1
        for name, level in zip(names, s.stratum, strict=True):
            by_level.setdefault((name, level), Counter())[s.arm] += 1
    return {
        **{g: sum(s.credit(g) for s in steps) / families for g in GUESSERS},
        "abs_imbalance": _abs_imbalance(overall, arms, ratio),
        "max_within_stratum": max(_abs_imbalance(c, arms, ratio) for c in by_stratum.values()),
        "worst_factor_level": max(_abs_imbalance(c, arms, ratio) for c in by_level.values()),
    }


def _mean_and_error(values: np.ndarray) -> dict[str, float]:
    error = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
    return {"probability": float(values.mean()), "standard_error": error}


def material_threshold(families: int) -> int:
    """The final imbalance that counts as material: a tenth of the families, at least 1."""
    return max(1, math.ceil(MATERIAL_SHARE * families))


def simulate(design: Design, *, families: int, runs: int, seed: int) -> dict:
    """The design report. Keys as the statistician's page and `--json` give them.
    `correct_guess_probability` is the figure of the guesser the method is judged by."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    results = [run_once(design, families, rng) for _ in range(runs)]
    guessers = {g: _mean_and_error(np.asarray([r[g] for r in results])) for g in GUESSERS}
    imbalance = np.asarray([r["abs_imbalance"] for r in results])
    within = np.asarray([r["max_within_stratum"] for r in results])
    worst = np.asarray([r["worst_factor_level"] for r in results])
    top = int(imbalance.max()) if len(imbalance) else 0
    right = RIGHT_GUESSER[design.method]
    threshold = material_threshold(families)
    return {
        "design": {
            "method": design.method,
            "arms": list(design.arms),
            "ratio": list(design.ratio),
            "block_sizes": list(design.block_sizes) if design.method == "blocks" else None,
            "p": design.p if design.method == "minimisation" else None,
            "imbalance": design.imbalance if design.method == "minimisation" else None,
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
        "guessers": guessers,
        "right_guesser": right,
        "correct_guess_probability": guessers[right]["probability"],
        "correct_guess_standard_error": guessers[right]["standard_error"],
        "mean_abs_imbalance": float(imbalance.mean()),
        "p_abs_imbalance_ge": {
            str(k): float((imbalance >= k).mean()) for k in range(1, max(top, 1) + 1)
        },
        "material_imbalance": {
            "threshold": threshold,
            "probability": float((imbalance >= threshold).mean()),
        },
        "mean_max_within_stratum_imbalance": float(within.mean()),
        "worst_factor_level_imbalance": {"mean": float(worst.mean()), "max": float(worst.max())},
    }


def all_strata(factors: Sequence[Factor]) -> list[tuple[str, ...]]:
    return list(itertools.product(*(f.levels for f in factors)))
