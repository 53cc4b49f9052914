"""Services for allocation lists and for randomising a family."""

import hashlib
import itertools
import json

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, NotPermitted, TrialError
from core.roles import Duty, Role
from outbox.services import enqueue
from sites.models import Site
from sites.permissions import require_duty, require_role
from trial.config import config_of
from trial.deviations import deviation_detected
from trial.models import Family, ProtocolDeviation, Trial

from .algorithms import (
    ALGORITHM_VERSION,
    MINIMISATION_VERSION,
    check_design,
    new_seed,
    stratum_list,
)
from .concealment import blinded_within
from .factor_kinds import kind_of
from .factors import factor_values, stratum_key
from .minimisation import allocate_by_minimisation, minimisation_parameters, parameters_digest
from .models import (
    Allocation,
    FactorCorrection,
    Mode,
    RandomisationList,
    Slot,
    Stratum,
)
from .preconditions import preconditions
from .tasks import alert_exhausted, notify_randomised

STATISTICIAN = {Role.STATISTICIAN_UNBLINDED}


def list_digest(rows: list[tuple[str, int, str, int, int]]) -> str:
    """SHA-256 over the list's canonical form: (stratum, position, arm, block, block size)."""
    return hashlib.sha256(json.dumps(sorted(rows), separators=(",", ":")).encode()).hexdigest()


def seed_digest(seed: int) -> str:
    return hashlib.sha256(str(seed).encode()).hexdigest()


def strata_levels(trial: Trial, site: Site | None) -> list[dict[str, str]]:
    """Every combination of the factors' levels (at one site, when given): the strata."""
    choices = [
        [(factor.key, level) for level in kind_of(factor).levels(factor, trial, site=site)]
        for factor in config_of(trial).randomisation.factors
    ]
    return [dict(combo) for combo in itertools.product(*choices)]


@transaction.atomic(durable=True)
def sequence_generate(
    *,
    trial: Trial,
    actor,
    channel: Channel,
    mode: str,
    length: int | None = None,
    site: Site | None = None,
) -> RandomisationList:
    """Generate a list for every stratum (of the trial, or of one site when it is activated):
    permuted blocks of random size, drawn from a fresh 128-bit seed. A trial that minimises
    gets its seed and sealed settings instead, for every site at once."""
    held = require_role(actor, roles=STATISTICIAN, trial=trial)
    return list_generate(
        trial=trial, actor=actor, channel=channel, mode=mode, length=length, site=site, held=held
    )


def list_generate(
    *,
    trial: Trial,
    actor,
    channel: Channel,
    mode: str,
    length: int,
    site: Site | None,
    held,
    reason: str = "",
) -> RandomisationList:
    """What `sequence_generate` does, inside the caller's transaction, for a caller that has
    checked the actor's role (`held`): a site's activation makes the site's list so, when
    the trial's definition says it is made then."""
    config = config_of(trial).randomisation
    if config is None:
        raise TrialError("The trial's definition asks for no randomisation.", field="method")
    if mode not in Mode.values:
        raise TrialError("Mode must be test or live.", field="mode")
    if config.method == "minimisation":
        return _minimisation_seed(trial=trial, actor=actor, channel=channel, mode=mode, held=held)
    if length is None or not 1 <= length <= 10_000:
        raise TrialError("Length per stratum must be 1 to 10,000.", field="length")
    arms, ratio = list(config.arms), list(config.ratio)
    check_design(arms, ratio, config.block_sizes)
    strata = strata_levels(trial, site)
    taken = set(
        Stratum.objects.filter(
            trial=trial, mode=mode, key__in=[stratum_key(s) for s in strata]
        ).values_list("key", flat=True)
    )
    if taken:
        raise Conflict(
            f"{len(taken)} of these strata already have a {mode} list (e.g. {sorted(taken)[0]}).",
            field="site",
        )
    seed = new_seed()
    rlist = RandomisationList(
        trial=trial,
        mode=mode,
        site=site,
        method="blocks",
        algorithm_version=ALGORITHM_VERSION,
        arms=arms,
        ratio=ratio,
        block_sizes=list(config.block_sizes),
        seed=str(seed),
        seed_sha256=seed_digest(seed),
        list_sha256="",
        generated_by=actor,
    )
    stamp(rlist, actor=actor).save()
    rows, slots = [], []
    for levels in strata:
        key = stratum_key(levels)
        stratum = Stratum.objects.create(
            rlist=rlist, trial=trial, mode=mode, key=key, levels=levels, length=length
        )
        for position, arm, number, size in stratum_list(
            seed, key, arms=arms, ratio=ratio, block_sizes=config.block_sizes, length=length
        ):
            slots.append(
                Slot(stratum=stratum, position=position, arm=arm, block=number, block_size=size)
            )
            rows.append((key, position, arm, number, size))
    Slot.objects.bulk_create(slots, batch_size=2000)
    rlist.list_sha256 = list_digest(rows)
    rlist.save(update_fields=["list_sha256"])
    record(
        event=EventType.SEQUENCE_GENERATED,
        actor=actor,
        channel=channel,
        obj=rlist,
        site=site,
        changes={
            "mode": [None, mode],
            "strata": [None, len(strata)],
            "length_per_stratum": [None, length],
        },
        reason=reason,
        actor_role=held,
    )
    return rlist


def _minimisation_seed(*, trial: Trial, actor, channel: Channel, mode: str, held: str):
    """Minimisation needs no list, only a seed for its random element and the sealed
    settings of its rule: one per trial and mode, covering every site, present and later."""
    if RandomisationList.objects.filter(trial=trial, mode=mode, method="minimisation").exists():
        raise Conflict(f"The trial already has a {mode} minimisation seed.", field="mode")
    config = config_of(trial).randomisation
    arms, ratio = list(config.arms), list(config.ratio)
    parameters = minimisation_parameters(config)
    seed = new_seed()
    rlist = RandomisationList(
        trial=trial,
        mode=mode,
        method="minimisation",
        algorithm_version=MINIMISATION_VERSION,
        arms=arms,
        ratio=ratio,
        block_sizes=[],
        parameters=parameters,
        seed=str(seed),
        seed_sha256=seed_digest(seed),
        list_sha256=parameters_digest(arms, ratio, parameters),
        generated_by=actor,
    )
    try:
        with transaction.atomic():  # a concurrent request may have made the seed meanwhile
            stamp(rlist, actor=actor).save()
    except IntegrityError:
        raise Conflict(f"The trial already has a {mode} minimisation seed.", field="mode") from None
    record(
        event=EventType.SEQUENCE_GENERATED,
        actor=actor,
        channel=channel,
        obj=rlist,
        changes={
            "mode": [None, mode],
            "method": [None, "minimisation"],
            **{k: [None, v] for k, v in parameters.items()},
        },
        actor_role=held,
    )
    return rlist


@transaction.atomic(durable=True)
def sequence_seal(*, rlist: RandomisationList, actor, channel: Channel) -> RandomisationList:
    """Seal a list: its digest, the seed's digest and the algorithm version go into the
    ledger, and only sealed lists allocate."""
    held = require_role(actor, roles=STATISTICIAN, trial=rlist.trial)
    return list_seal(rlist=rlist, actor=actor, channel=channel, held=held)


def list_seal(
    *, rlist: RandomisationList, actor, channel: Channel, held, reason: str = ""
) -> RandomisationList:
    """What `sequence_seal` does, inside the caller's transaction, for a caller that has
    checked the actor's role (`held`)."""
    rlist = RandomisationList.objects.select_for_update().get(pk=rlist.pk)
    if rlist.sealed:
        raise Conflict("This list is already sealed.", field="list")
    rlist.sealed_by, rlist.sealed_at = actor, timezone.now()
    stamp(rlist, actor=actor).save()
    record(
        event=EventType.SEQUENCE_SEALED,
        actor=actor,
        channel=channel,
        obj=rlist,
        site=rlist.site,
        changes={
            "list_sha256": [None, rlist.list_sha256],
            "seed_sha256": [None, rlist.seed_sha256],
            "algorithm_version": [None, rlist.algorithm_version],
            "mode": [None, rlist.mode],
        },
        reason=reason,
        actor_role=held,
    )
    return rlist


def lists_per_site(trial: Trial) -> bool:
    """Whether each site needs a live list of its own: the trial allocates from lists and
    the site is one of its factors (under minimisation a site is one more factor level)."""
    config = config_of(trial).randomisation
    return (
        config is not None
        and config.method == "blocks"
        and any(f.kind == "site" for f in config.factors)
    )


def site_unlisted(site: Site, mode: str = Mode.LIVE) -> list[str]:
    """The keys of the site's strata that no sealed list of `mode` covers."""
    keys = [stratum_key(levels) for levels in strata_levels(site.trial, site)]
    sealed = set(
        Stratum.objects.filter(
            trial_id=site.trial_id, mode=mode, key__in=keys, rlist__sealed_at__isnull=False
        ).values_list("key", flat=True)
    )
    return [key for key in keys if key not in sealed]


@transaction.atomic(durable=True)
def randomisation_go_live(*, trial: Trial, actor, channel: Channel) -> Trial:
    """Leave test mode for good: from now on families are allocated from the live lists."""
    held = require_role(actor, roles=STATISTICIAN, trial=trial)
    trial = Trial.objects.select_for_update().get(pk=trial.pk)
    if trial.randomisation_mode == Mode.LIVE:
        raise Conflict("Randomisation is already live.", field="mode")
    if not RandomisationList.objects.filter(
        trial=trial, mode=Mode.LIVE, sealed_at__isnull=False
    ).exists():
        raise TrialError("Generate and seal a live list first.", field="mode")
    if lists_per_site(trial):
        # A site that may recruit must be able to randomise the moment the trial is live.
        sites = Site.objects.filter(trial=trial).order_by("code")
        bare = [s.code for s in sites if s.can_recruit and site_unlisted(s)]
        if bare:
            raise TrialError(
                f"{', '.join(bare)} may recruit, but no sealed live list covers "
                f"{'its' if len(bare) == 1 else 'their'} strata: generate and seal one for "
                f"{'it' if len(bare) == 1 else 'each'} first.",
                field="site",
            )
    trial.randomisation_mode = Mode.LIVE
    stamp(trial, actor=actor).save()
    record(
        event=EventType.RANDOMISATION_LIVE,
        actor=actor,
        channel=channel,
        obj=trial,
        changes={"randomisation_mode": ["test", "live"]},
        actor_role=held,
    )
    return trial


class _Exhausted(Exception):
    def __init__(self, stratum: Stratum, role: str, family: Family) -> None:
        self.stratum, self.role, self.family = stratum, role, family


@transaction.atomic(durable=True)
def _allocate(
    *, family: Family, actor, channel: Channel, within: QuerySet[Family] | None
) -> Allocation:
    on = today()
    # The family row alone (of=self: the joined trial and site rows are every family's), with
    # what the checks below read joined or prefetched once: its trial (read afresh, since a
    # trial object held by the caller may predate going live), site and screening; its
    # consents and withdrawals, read after the lock is granted.
    family = (
        (Family.objects if within is None else within)
        .select_for_update(of=("self",), no_key=True)
        .select_related("trial", "site", "screening")
        .prefetch_related("consents", "withdrawals")
        .get(pk=family.pk)
    )
    delegation = require_duty(actor, site=family.site, duty=Duty.RANDOMISE, on=on)
    role = delegation.membership.role
    mode = family.trial.randomisation_mode
    existing = Allocation.objects.filter(family=family, mode=mode).first()
    if existing:
        return existing  # idempotent: the same allocation, nothing consumed
    for precondition in preconditions():
        precondition(family, on)
    design = config_of(family.trial).randomisation
    if design is None:
        raise TrialError("The trial's definition asks for no randomisation.", field="method")
    values = factor_values(family, on)
    if design.method == "minimisation":
        allocation, changes = allocate_by_minimisation(
            family=family, mode=mode, values=values, actor=actor
        )
        return _allocated(allocation, changes, actor, channel, role)
    key = stratum_key(values)
    # The sealed list as a subquery, not a join: the update below then states its every
    # condition on the stratum row itself, and a waiter has them checked again on the row
    # as it stands once the lock is granted.
    sealed = RandomisationList.objects.filter(sealed_at__isnull=False)
    strata = Stratum.objects.filter(trial=family.trial, mode=mode, key=key, rlist__in=sealed)
    # The stratum row lock, taken by the update that counts one more slot used: concurrent
    # randomisations in one stratum queue here, so each takes the next unused slot in turn,
    # none skipped and none taken twice. An update locks the stratum row alone (NO KEY
    # UPDATE), not the list row the filter joins, which every stratum shares: locking that
    # would serialise all randomisations of the trial. A stratum used up meanwhile is not
    # counted past its length.
    if not strata.filter(used__lt=F("length")).update(used=F("used") + 1):
        stratum = strata.first()
        if stratum is None:
            raise TrialError(f"There is no sealed {mode} list for stratum {key}.", field="stratum")
        raise _Exhausted(stratum, role, family)
    # The slot at the position just counted, read under that lock.
    slot = Slot.objects.select_related("stratum").get(
        stratum__in=strata, position=F("stratum__used")
    )
    allocation = Allocation(
        family=family,
        mode=mode,
        slot=slot,
        stratum=slot.stratum,
        arm=slot.arm,
        factor_values=values,
        randomised_by=actor,
    )
    stamp(allocation, actor=actor).save()
    changes = {
        "mode": [None, mode],
        "stratum": [None, key],
        "slot": [None, slot.position],
        "arm": [None, slot.arm],
    }
    return _allocated(allocation, changes, actor, channel, role)


def _allocated(allocation: Allocation, changes: dict, actor, channel: Channel, role: str):
    family = allocation.family
    # The notification is queued before the ledger's event. Sealed inline, the event locks
    # the ledger's head until the commit, so whatever followed it would wait on every other
    # write; sealed in batches (PostgreSQL's default) the event takes no lock.
    enqueue(notify_randomised, allocation.pk)
    record(
        event=EventType.RANDOMISED,
        actor=actor,
        channel=channel,
        obj=allocation,
        site=family.site,
        family=family.identifier,
        changes=changes,
        actor_role=role,
    )
    return allocation


@transaction.atomic(durable=True)
def _record_exhausted(
    *, family: Family, stratum: Stratum, actor, actor_role: str, channel: Channel
) -> None:
    record(
        event=EventType.STRATUM_EXHAUSTED,
        actor=actor,
        channel=channel,
        obj=stratum,
        site=family.site,
        family=family.identifier,
        changes={"stratum": [None, stratum.key]},
        actor_role=actor_role,
    )

    stratum_id, family_id = stratum.pk, family.pk
    enqueue(alert_exhausted, stratum_id, family_id)


def family_randomise(
    *, family: Family, actor, channel: Channel, within: QuerySet[Family] | None = None
) -> Allocation:
    """Allocate the family from its stratum's sealed list. Randomising twice returns the
    same allocation. An exhausted stratum refuses (nothing falls back to another method),
    and the refusal is recorded and the unblinded statistician alerted, in a transaction of
    its own since the allocation's rolled back. `within`: the families the caller may
    reach, the family read through them with its lock (one read, not a scoped read and
    then the lock); one outside them raises Family.DoesNotExist and nothing is written."""
    try:
        return _allocate(family=family, actor=actor, channel=channel, within=within)
    except _Exhausted as exhausted:
        _record_exhausted(
            family=exhausted.family,
            stratum=exhausted.stratum,
            actor=actor,
            actor_role=exhausted.role,
            channel=channel,
        )
        raise Conflict(
            "The allocation list for this family's stratum is used up. Nothing was "
            "allocated; the unblinded statistician has been told.",
            field="stratum",
        ) from None


@transaction.atomic(durable=True)
def factor_correct(
    *,
    allocation: Allocation,
    factor: str,
    correct_value: str,
    reason: str,
    severity: str,
    actor,
    channel: Channel,
) -> FactorCorrection:
    """A factor was wrong at randomisation: record the correct value and a protocol
    deviation. The allocation stands, unchanged."""
    family = allocation.family
    held = require_role(actor, roles={Role.SITE_COORDINATOR}, site=family.site)
    if factor not in allocation.factor_values:
        raise TrialError(f"'{factor}' is not a stratification factor.", field="factor")
    used = allocation.factor_values[factor]
    if correct_value == used:
        raise TrialError("That is the value used; nothing to correct.", field="correct_value")
    reason = (reason or "").strip()
    if not reason:
        raise TrialError("Say how the error came about.", field="reason")
    if severity not in ProtocolDeviation.Severity.values:
        raise TrialError("Severity must be minor or major.", field="severity")
    if FactorCorrection.objects.filter(allocation=allocation, factor=factor).exists():
        raise Conflict(f"{factor} was corrected for this family already.", field="factor")
    deviation = deviation_detected(
        family=family,
        kind=ProtocolDeviation.Kind.STRATIFICATION_ERROR,
        severity=severity,
        occurred_on=allocation.randomised_at.date(),
        description=f"Randomised with {factor} = {used}; the correct value is {correct_value}. "
        f"{reason}",
        corrective_action="Allocation stands (intention to treat).",
        source=ProtocolDeviation.Source.FACTOR_CORRECTION,
        source_key=f"allocation:{allocation.pk}:{factor}",
        actor=actor,
        channel=channel,
    )
    if deviation is None:
        raise Conflict(
            "This trial's definition does not log stratification errors: a factor "
            "correction cannot be recorded.",
            field="factor",
        )
    correction = FactorCorrection(
        allocation=allocation,
        factor=factor,
        used_value=used,
        correct_value=correct_value,
        reason=reason,
        deviation=deviation,
        recorded_by=actor,
    )
    stamp(correction, actor=actor).save()
    record(
        event=EventType.FACTOR_CORRECTED,
        actor=actor,
        channel=channel,
        obj=correction,
        site=family.site,
        family=family.identifier,
        changes={factor: [used, correct_value]},
        reason=reason,
        actor_role=held,
    )
    return correction


@transaction.atomic(durable=True)
def sequence_export_record(*, rlist: RandomisationList, actor, channel: Channel) -> None:
    """Only the unblinded statistician exports a list, and the export is recorded. A list
    shows every arm of its strata, so nobody blinded where it applies may take it out."""
    held = require_role(actor, roles=STATISTICIAN, trial=rlist.trial)
    if blinded_within(actor, rlist.trial, rlist.site):
        raise NotPermitted(
            f"{actor.get_username()} holds a blinded role where this list applies, and the "
            "list shows every arm: it cannot be exported by them."
        )
    record(
        event=EventType.SEQUENCE_EXPORTED,
        actor=actor,
        channel=channel,
        obj=rlist,
        changes={"list_sha256": [None, rlist.list_sha256]},
        actor_role=held,
    )
