"""Allocation by minimisation: the sealed settings, one allocation's decision from the seed
and the running totals, and taking the next allocation under the trial's lock. The
services call it inside their own transaction; the verifier replays with `decide`."""

import hashlib
import json

from audit.history import stamp
from core.errors import TrialError
from trial.models import Family

from .algorithms import MinimisationStep as Step
from .algorithms import minimisation_draws, minimisation_step
from .models import Allocation, MinimisationStep, RandomisationList


def minimisation_parameters(config) -> dict:
    """What a minimisation list seals besides its seed: the rule's every setting."""
    return {
        "factors": [getattr(f, "key", f) for f in config.factors],
        "weights": {k: float(v) for k, v in sorted(config.weights.items())},
        "imbalance": config.imbalance,
        "p": float(config.p),
    }


def parameters_digest(arms: list[str], ratio: list[int], parameters: dict) -> str:
    canonical = {"arms": arms, "ratio": ratio, **parameters}
    return hashlib.sha256(
        json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def decide(rlist: RandomisationList, position: int, levels: dict[str, str], totals: dict) -> Step:
    """The minimisation step for the list's `position`-th allocation, from its sealed seed
    and settings and the totals seen."""
    tie_draw, draw = minimisation_draws(int(rlist.seed), position)
    counts = {
        (factor, levels[factor], arm): n
        for factor, by_arm in totals.items()
        for arm, n in by_arm.items()
    }
    parameters = rlist.parameters
    return minimisation_step(
        tie_draw=tie_draw,
        draw=draw,
        arms=rlist.arms,
        ratio=rlist.ratio,
        levels=levels,
        counts=counts,
        weights=parameters["weights"],
        method=parameters["imbalance"],
        p=parameters["p"],
    )


def allocate_by_minimisation(*, family: Family, mode: str, values: dict[str, str], actor):
    # The list row lock: every allocation depends on all earlier ones in the trial, so the
    # trial's allocations by minimisation take turns here.
    rlist = (
        RandomisationList.objects.select_for_update(no_key=True)
        .filter(trial=family.trial, mode=mode, method="minimisation", sealed_at__isnull=False)
        .first()
    )
    if rlist is None:
        raise TrialError(f"There is no sealed {mode} minimisation seed.", field="stratum")
    # The running totals are kept on the locked row, so an allocation reads one row however
    # many came before; the verifier recomputes them from the allocations themselves.
    position = rlist.used + 1
    running = rlist.running
    totals = {
        factor: {arm: running.get(factor, {}).get(level, {}).get(arm, 0) for arm in rlist.arms}
        for factor, level in values.items()
    }
    step = decide(rlist, position, values, totals)
    for factor, level in values.items():
        by_arm = running.setdefault(factor, {}).setdefault(level, {})
        by_arm[step.arm] = by_arm.get(step.arm, 0) + 1
    RandomisationList.objects.filter(pk=rlist.pk).update(used=position, running=running)
    allocation = Allocation(
        family=family, mode=mode, arm=step.arm, factor_values=values, randomised_by=actor
    )
    stamp(allocation, actor=actor).save()
    stamp(
        MinimisationStep(
            rlist=rlist,
            position=position,
            allocation=allocation,
            levels=values,
            totals=totals,
            scores=list(step.scores),
            preferred=step.preferred or "",
            tie_draw=step.tie_draw,
            draw=step.draw,
            arm=step.arm,
        ),
        actor=actor,
    ).save()
    changes = {
        "mode": [None, mode],
        "method": [None, "minimisation"],
        "position": [None, position],
        "arm": [None, step.arm],
    }
    return allocation, changes
