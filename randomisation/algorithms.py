"""Allocation algorithms. Pure numpy: no Django import.

Every draw is reproducible from (seed, algorithm version, stratum, position): a stratum's
generator is spawned from the trial's 128-bit seed with a key derived from the stratum's
name, and a list is drawn from it in order.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

ALGORITHM_VERSION = "blocks-1"


def new_seed() -> int:
    """128 bits of entropy from the operating system, through numpy's SeedSequence."""
    return int(np.random.SeedSequence().entropy) & ((1 << 128) - 1)


def stratum_rng(
    seed: int, stratum: str, *, version: str = ALGORITHM_VERSION
) -> np.random.Generator:
    """The generator for one stratum: the same seed, version and stratum always give the
    same stream; different strata get independent streams."""
    digest = hashlib.sha256(f"{version}\x00{stratum}".encode()).digest()
    spawn_key = tuple(int.from_bytes(digest[i : i + 4], "big") for i in range(0, 16, 4))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=spawn_key)))


def check_design(arms: Sequence[str], ratio: Sequence[int], block_sizes: Sequence[int]) -> None:
    if len(arms) < 2 or len(arms) != len(ratio) or len(set(arms)) != len(arms):
        raise ValueError("give two or more distinct arms and one ratio part per arm")
    if any(r < 1 for r in ratio):
        raise ValueError("ratio parts must be whole numbers of 1 or more")
    total = sum(ratio)
    if not block_sizes or any(b < total or b % total for b in block_sizes):
        raise ValueError(f"each block size must be a multiple of the ratio's sum ({total})")


def blocks(
    rng: np.random.Generator,
    *,
    arms: Sequence[str],
    ratio: Sequence[int],
    block_sizes: Sequence[int],
    length: int,
) -> list[list[str]]:
    """Permuted blocks covering at least `length` slots: each block's size drawn at random
    from `block_sizes`, each block holding the arms in the ratio, in random order."""
    check_design(arms, ratio, block_sizes)
    total, out, filled = sum(ratio), [], 0
    sizes = np.asarray(sorted(block_sizes))
    while filled < length:
        size = int(sizes[rng.integers(len(sizes))])
        block = [
            arm for arm, part in zip(arms, ratio, strict=True) for _ in range(part * size // total)
        ]
        out.append([block[i] for i in rng.permutation(size)])
        filled += size
    return out


def permuted_blocks(
    rng: np.random.Generator,
    *,
    arms: Sequence[str],
    ratio: Sequence[int],
    block_sizes: Sequence[int],
    length: int,
) -> list[str]:
    """A stratum's list of `length` allocations by permuted blocks of random size."""
    flat = [
        arm
        for block in blocks(rng, arms=arms, ratio=ratio, block_sizes=block_sizes, length=length)
        for arm in block
    ]
    return flat[:length]


def imbalance_after(counts: np.ndarray, ratio: np.ndarray, arm: int, method: str) -> float:
    """The imbalance of one factor level's counts if the next participant joined `arm`,
    counts scaled by the ratio so that a design of 2:1 counts 2 and 1 as balanced."""
    after = counts.astype(float).copy()
    after[arm] += 1
    scaled = after / ratio
    if method == "range":
        return float(scaled.max() - scaled.min())
    if method == "variance":
        return float(scaled.var(ddof=1)) if len(scaled) > 1 else 0.0
    raise ValueError("method must be range or variance")


def minimisation_scores(
    *,
    arms: Sequence[str],
    ratio: Sequence[int],
    levels: Mapping[str, str],
    counts: Mapping[tuple[str, str, str], int],
    weights: Mapping[str, float],
    method: str = "range",
) -> list[float]:
    """Pocock and Simon's total imbalance G for each arm the newcomer could join: the
    weighted sum, over the newcomer's factor levels, of the imbalance there afterwards."""
    ratio_arr = np.asarray(ratio, dtype=float)
    scores = []
    for a in range(len(arms)):
        total = 0.0
        for factor, level in levels.items():
            level_counts = np.asarray([counts.get((factor, level, arm), 0) for arm in arms])
            total += weights.get(factor, 1.0) * imbalance_after(level_counts, ratio_arr, a, method)
        scores.append(total)
    return scores


def minimise(
    rng: np.random.Generator,
    *,
    arms: Sequence[str],
    ratio: Sequence[int],
    levels: Mapping[str, str],
    counts: Mapping[tuple[str, str, str], int],
    weights: Mapping[str, float],
    method: str = "range",
    p: float = 0.8,
) -> str:
    """Pocock-Simon minimisation: with probability p the arm that minimises imbalance (ties
    broken at random, in the ratio), otherwise one of the others at random."""
    if not 0.5 <= p <= 1:
        raise ValueError("p must be between 0.5 and 1")
    scores = np.asarray(
        minimisation_scores(
            arms=arms, ratio=ratio, levels=levels, counts=counts, weights=weights, method=method
        )
    )
    best = np.flatnonzero(np.isclose(scores, scores.min()))
    if len(best) == len(arms):  # no preference: allocate in the ratio
        weights_arr = np.asarray(ratio, dtype=float)
        return arms[int(rng.choice(len(arms), p=weights_arr / weights_arr.sum()))]
    preferred = int(best[rng.integers(len(best))]) if len(best) > 1 else int(best[0])
    if rng.random() < p:
        return arms[preferred]
    others = [i for i in range(len(arms)) if i != preferred]
    return arms[int(others[rng.integers(len(others))])]


def stratum_list(
    seed: int,
    stratum: str,
    *,
    arms: Sequence[str],
    ratio: Sequence[int],
    block_sizes: Sequence[int],
    length: int,
    version: str = ALGORITHM_VERSION,
) -> list[tuple[int, str, int, int]]:
    """A stratum's list as (position, arm, block number, block size): what generation stores
    and verification regenerates."""
    drawn = blocks(
        stratum_rng(seed, stratum, version=version),
        arms=arms,
        ratio=ratio,
        block_sizes=block_sizes,
        length=length,
    )
    flat = [
        (arm, number, len(block)) for number, block in enumerate(drawn, start=1) for arm in block
    ][:length]
    return [
        (position, arm, number, size) for position, (arm, number, size) in enumerate(flat, start=1)
    ]


MINIMISATION_VERSION = "minimisation-1"


@dataclass(frozen=True)
class MinimisationStep:
    """One allocation by minimisation, with everything needed to replay it: the scores of
    each arm, the arm they prefer (None when every arm scores the same) and the two
    uniform draws that decided (which of tied preferred arms; whether to follow the
    preference, and if not, which other arm)."""

    scores: tuple[float, ...]
    preferred: str | None
    tie_draw: float
    draw: float
    arm: str


def minimisation_rng(seed: int, position: int) -> np.random.Generator:
    """The generator for the trial's `position`-th allocation by minimisation."""
    return stratum_rng(seed, f"allocation {position}", version=MINIMISATION_VERSION)


def minimisation_step(
    *,
    tie_draw: float,
    draw: float,
    arms: Sequence[str],
    ratio: Sequence[int],
    levels: Mapping[str, str],
    counts: Mapping[tuple[str, str, str], int],
    weights: Mapping[str, float],
    method: str = "range",
    p: float = 0.8,
) -> MinimisationStep:
    """Pocock and Simon's rule decided by two given uniform draws in [0, 1): with
    probability p the arm of least total imbalance (ties among them by `tie_draw`),
    otherwise one of the other arms, evenly; when every arm scores the same, an arm in
    the ratio. The same inputs always give the same step, so a replay can check it."""
    if not 0.5 <= p <= 1:
        raise ValueError("p must be between 0.5 and 1")
    if not (0 <= tie_draw < 1 and 0 <= draw < 1):
        raise ValueError("draws must lie in [0, 1)")
    scores = minimisation_scores(
        arms=arms, ratio=ratio, levels=levels, counts=counts, weights=weights, method=method
    )
    low = min(scores)
    best = [i for i, s in enumerate(scores) if np.isclose(s, low)]
    if len(best) == len(arms):
        bounds = np.cumsum(np.asarray(ratio, dtype=float)) / sum(ratio)
        arm = arms[int(np.searchsorted(bounds, draw, side="right"))]
        return MinimisationStep(tuple(scores), None, tie_draw, draw, arm)
    preferred = best[min(int(tie_draw * len(best)), len(best) - 1)]
    if draw < p:
        chosen = preferred
    else:
        others = [i for i in range(len(arms)) if i != preferred]
        share = (draw - p) / (1 - p)
        chosen = others[min(int(share * len(others)), len(others) - 1)]
    return MinimisationStep(tuple(scores), arms[preferred], tie_draw, draw, arms[chosen])


def minimisation_draws(seed: int, position: int) -> tuple[float, float]:
    """The two uniform draws of the `position`-th allocation, from the sealed seed."""
    rng = minimisation_rng(seed, position)
    return float(rng.random()), float(rng.random())
