"""Regenerates every list from its sealed inputs and checks what was allocated from it."""

from collections import Counter
from dataclasses import dataclass
from math import isclose

from audit.models import AuditEvent

from .algorithms import stratum_list
from .minimisation import decide, parameters_digest
from .models import Allocation, RandomisationList
from .services import list_digest, seed_digest


@dataclass(frozen=True)
class Discrepancy:
    where: str
    problem: str


def verify_lists() -> tuple[int, list[Discrepancy]]:
    """(allocations checked, discrepancies in order found; the first is the one to read)."""
    found: list[Discrepancy] = []
    checked = 0
    for rlist in RandomisationList.objects.order_by("id"):
        where = f"list #{rlist.pk} ({rlist.mode})"
        seed = int(rlist.seed)
        if seed_digest(seed) != rlist.seed_sha256:
            found.append(Discrepancy(where, "its seed does not match the seed's digest"))
            continue
        if rlist.sealed:
            sealed = AuditEvent.objects.filter(
                event_type="sequence_sealed",
                object_type="randomisation.RandomisationList",
                object_id=str(rlist.pk),
            ).first()
            if (
                sealed is None
                or sealed.changes.get("list_sha256", [None, None])[1] != rlist.list_sha256
            ):
                found.append(
                    Discrepancy(where, "its digest differs from the one sealed in the audit ledger")
                )
        if rlist.method == "minimisation":
            checked += _replay(rlist, where, found)
            continue
        rows = []
        for stratum in rlist.strata.order_by("key"):
            expected = [
                (stratum.key, *row)
                for row in stratum_list(
                    seed,
                    stratum.key,
                    arms=rlist.arms,
                    ratio=rlist.ratio,
                    block_sizes=rlist.block_sizes,
                    length=stratum.length,
                    version=rlist.algorithm_version,
                )
            ]
            stored = [
                (stratum.key, s.position, s.arm, s.block, s.block_size)
                for s in stratum.slots.order_by("position")
            ]
            if stored != expected:
                first = next(
                    (i for i, (a, b) in enumerate(zip(stored, expected, strict=False)) if a != b),
                    min(len(stored), len(expected)),
                )
                found.append(
                    Discrepancy(
                        f"{where}, stratum {stratum.key}",
                        f"slot {first + 1} differs from the regenerated list",
                    )
                )
            rows.extend(expected)
            used = list(
                Allocation.objects.filter(stratum=stratum)
                .order_by("randomised_at", "id")
                .values_list("slot__position", flat=True)
            )
            checked += len(used)
            if used != list(range(1, len(used) + 1)):
                position = next(i + 1 for i, p in enumerate(used) if p != i + 1)
                found.append(
                    Discrepancy(
                        f"{where}, stratum {stratum.key}",
                        f"allocation {position} took slot "
                        f"{used[position - 1]}: slots skipped, repeated or "
                        "taken out of order",
                    )
                )
        if list_digest(rows) != rlist.list_sha256:
            found.append(
                Discrepancy(where, "the regenerated list's digest differs from the stored one")
            )
    return checked, found


def _replay(rlist: RandomisationList, where: str, found: list[Discrepancy]) -> int:
    """Replays every allocation by minimisation in order from the sealed seed and settings:
    the totals each saw must be those the earlier allocations give, its draws the seed's,
    and its scores, preferred arm and arm what the rule makes of them."""
    if parameters_digest(rlist.arms, rlist.ratio, rlist.parameters) != rlist.list_sha256:
        found.append(Discrepancy(where, "its settings differ from the ones sealed"))
    running: Counter = Counter()  # (factor, level, arm) -> allocations so far
    done = 0
    steps = rlist.steps.order_by("position").select_related("allocation__family")
    for step in steps:
        at = f"{where}, allocation {step.position} ({step.allocation.family.identifier})"
        problems = []
        if step.position != done + 1:
            problems.append("allocations are missing or out of order before it")
        if step.allocation.factor_values != step.levels:
            problems.append("its factor levels differ from the allocation's")
        totals = {
            factor: {arm: running[factor, level, arm] for arm in rlist.arms}
            for factor, level in step.levels.items()
        }
        if totals != step.totals:
            problems.append("the totals recorded differ from those the earlier allocations give")
        expected = decide(rlist, step.position, step.levels, totals)
        if (step.tie_draw, step.draw) != (expected.tie_draw, expected.draw):
            problems.append("its draws are not the sealed seed's")
        if len(step.scores) != len(expected.scores) or not all(
            isclose(a, b) for a, b in zip(step.scores, expected.scores, strict=True)
        ):
            problems.append("its imbalance scores are not the rule's")
        if step.preferred != (expected.preferred or ""):
            problems.append("its preferred arm is not the rule's")
        if step.arm != expected.arm or step.allocation.arm != expected.arm:
            problems.append("its arm is not the one the rule gives")
        found.extend(Discrepancy(at, problem) for problem in problems)
        for factor, level in step.levels.items():
            running[factor, level, step.arm] += 1
        done += 1
    cached = Counter(
        {
            (factor, level, arm): n
            for factor, levels in rlist.running.items()
            for level, by_arm in levels.items()
            for arm, n in by_arm.items()
            if n
        }
    )
    if rlist.used != done or cached != +running:
        found.append(Discrepancy(where, "its running totals differ from its allocations"))
    # An allocation of the trial with neither a slot nor a step escaped the replay.
    unaccounted = Allocation.objects.filter(
        family__trial=rlist.trial, mode=rlist.mode, slot__isnull=True, minimisation__isnull=True
    ).select_related("family")
    found.extend(
        Discrepancy(f"{where}, {a.family.identifier}", "allocated with no slot and no step")
        for a in unaccounted
    )
    return done
