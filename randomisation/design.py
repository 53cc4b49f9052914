"""Turns a trial's configuration (or command-line options) into a design to simulate."""

from core.errors import TrialError
from trial.config import config_of
from trial.models import Trial

from .factor_kinds import kind_of
from .simulation import Design, Factor, equal_strata


def trial_factors(trial: Trial) -> tuple[Factor, ...]:
    """The trial's stratification factors with their expected level frequencies: as the
    factor's kind knows them (a site factor: sites that may still recruit, by recruitment
    target), else from the definition's expected frequencies, which must give every level."""
    config = config_of(trial).randomisation
    if config is None:
        raise ValueError(f"Trial {trial.code}'s definition has no randomisation section.")
    factors = []
    for factor in config.factors:
        kind = kind_of(factor)
        try:
            levels = kind.levels(factor, trial)
        except TrialError as exc:
            raise ValueError(exc.message) from exc
        expected = kind.frequencies(factor, trial)
        if expected is None:
            expected = config.expected_frequencies.get(factor.key)
            if not expected:
                raise ValueError(f"No expected frequencies for {factor.key} in the definition.")
            if set(expected) != set(levels):
                raise ValueError(
                    f"The expected frequencies for {factor.key} must give every level: "
                    f"{', '.join(levels)}."
                )
        factors.append(Factor(factor.key, tuple(expected), tuple(expected.values())))
    return tuple(factors)


def design_for(
    trial: Trial,
    *,
    method: str | None = None,
    block_sizes=None,
    strata: int | None = None,
    p: float | None = None,
) -> Design:
    config = config_of(trial).randomisation
    if config is None:
        raise ValueError(f"Trial {trial.code}'s definition has no randomisation section.")
    factors = equal_strata(strata) if strata else trial_factors(trial)
    return Design(
        method=method or config.method,
        arms=tuple(config.arms),
        ratio=config.ratio,
        block_sizes=tuple(block_sizes or config.block_sizes),
        factors=factors,
        p=p if p is not None else config.p,
        weights=config.weights,
        imbalance=config.imbalance,
    )
