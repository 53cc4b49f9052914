"""Turns a trial's configuration (or command-line options) into a design to simulate."""

from sites.models import Site, SiteStatus
from trial.config import config_of
from trial.models import Trial

from .simulation import Design, Factor, equal_strata


def trial_factors(trial: Trial) -> tuple[Factor, ...]:
    """The trial's stratification factors with their expected level frequencies: sites by
    recruitment target (sites that may still recruit), the others from the definition."""
    config = config_of(trial).randomisation
    if config is None:
        raise ValueError(f"Trial {trial.code}'s definition has no randomisation section.")
    factors = []
    for name in config.factors:
        if name == "site":
            sites = list(
                Site.objects.filter(trial=trial).exclude(
                    status__in=[SiteStatus.CLOSED, SiteStatus.CLOSED_TO_RECRUITMENT]
                )
            )
            total = sum(s.recruitment_target for s in sites) or 1
            factors.append(
                Factor(
                    "site",
                    tuple(s.code for s in sites),
                    tuple(s.recruitment_target / total for s in sites),
                )
            )
        else:
            levels = config.expected_frequencies.get(name)
            if not levels:
                raise ValueError(f"No expected frequencies for {name} in the definition.")
            factors.append(Factor(name, tuple(levels), tuple(levels.values())))
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
