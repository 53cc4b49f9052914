"""Freezing and locking the trial's data. The trial manager is the data manager: they freeze
and unfreeze. A statistician locks, after the readiness report is clear and with their
password again; an unlock needs a statistician and the trial manager, two people."""

import re

from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.history import stamp
from audit.ledger import record
from audit.reasons import given
from audit.sealing import sealed
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from core.roles import Role
from crf.models import Response
from lock.models import DataLock, Freeze
from sites.models import Site
from sites.permissions import require_role
from sites.selectors import roles_at
from trial.models import Family, Trial

from .models import AnalysisPlan
from .readiness import lock_readiness

DATA_MANAGERS = {Role.TRIAL_MANAGER}
STATISTICIANS = {Role.STATISTICIAN_BLINDED, Role.STATISTICIAN_UNBLINDED}


@transaction.atomic(durable=True)
def data_freeze(
    *,
    actor,
    channel: Channel,
    reason: str,
    site: Site | None = None,
    family: Family | None = None,
    response: Response | None = None,
) -> Freeze:
    """Freeze one form, a family's casebook or a whole site: every change to its forms is
    refused until the freeze is released (queries and signatures stay open)."""
    if sum(x is not None for x in (site, family, response)) != 1:
        raise TrialError("Freeze one form, one casebook or one site.", field="scope")
    if response is not None:
        response = Response.objects.select_related("family__site").get(pk=response.pk)
        family, scope = response.family, Freeze.Scope.RESPONSE
    elif family is not None:
        scope = Freeze.Scope.CASEBOOK
    else:
        scope = Freeze.Scope.SITE
    site = Site.objects.select_for_update().get(pk=(family.site_id if family else site.pk))
    held = require_role(actor, roles=DATA_MANAGERS, trial=site.trial)
    reason = given(reason, ask="Give a reason to freeze data.")
    target = {"scope": scope, "site": site, "family": family, "response": response}
    if Freeze.objects.filter(**target, released_at__isnull=True).exists():
        raise Conflict("This is already frozen.", field="scope")
    freeze = Freeze(trial=site.trial, reason=reason, frozen_by=actor, **target)
    stamp(freeze, actor=actor, reason=reason).save()
    record(
        event=EventType.DATA_FROZEN,
        actor=actor,
        channel=channel,
        obj=freeze,
        site=site,
        family=family.identifier if family else "",
        changes={"scope": [None, scope], "holds": [None, freeze.describe()]},
        reason=reason,
        actor_role=held,
        conceal=_conceal(freeze),
    )
    return freeze


def _conceal(freeze: Freeze) -> str:
    """A freeze of one response names its form: concealed, as the form's own events are,
    from viewers blinded at the site when the form reveals the arm."""
    return freeze.response.conceal if freeze.response_id else ""


@transaction.atomic(durable=True)
def freeze_release(*, freeze: Freeze, actor, channel: Channel, reason: str) -> Freeze:
    freeze = (
        Freeze.objects.select_for_update(of=("self",))
        .select_related("site", "family", "response", "trial")
        .get(pk=freeze.pk)
    )
    held = require_role(actor, roles=DATA_MANAGERS, trial=freeze.trial)
    if not freeze.is_open:
        raise Conflict("This freeze was already released.", field="freeze")
    reason = given(reason, ask="Give a reason to unfreeze data.")
    freeze.released_by, freeze.released_at, freeze.release_reason = actor, timezone.now(), reason
    stamp(freeze, actor=actor, reason=reason).save()
    record(
        event=EventType.FREEZE_RELEASED,
        actor=actor,
        channel=channel,
        obj=freeze,
        site=freeze.site,
        family=freeze.family.identifier if freeze.family else "",
        changes={"released": [None, freeze.describe()]},
        reason=reason,
        actor_role=held,
        conceal=_conceal(freeze),
    )
    return freeze


@transaction.atomic(durable=True)
def _lock_refused(*, trial: Trial, actor, actor_role, channel: Channel) -> None:
    record(
        event=EventType.LOCK_REFUSED,
        actor=actor,
        channel=channel,
        obj=trial,
        reason="the password did not match",
        actor_role=actor_role,
    )


def data_lock(
    *, trial: Trial, actor, channel: Channel, password: str, population: str = ""
) -> DataLock:
    """Lock the trial's data (or one analysis population's forms). Refused while the
    readiness report lists anything; needs the statistician's password again."""
    held = require_role(actor, roles=STATISTICIANS, trial=trial)
    if not password or not actor.check_password(password):
        _lock_refused(trial=trial, actor=actor, actor_role=held, channel=channel)
        raise TrialError("That is not your password: the data were not locked.", field="password")
    return _lock(trial=trial, actor=actor, actor_role=held, channel=channel, population=population)


@transaction.atomic(durable=True)
def _lock(*, trial: Trial, actor, actor_role, channel: Channel, population: str) -> DataLock:
    trial = Trial.objects.select_for_update().get(pk=trial.pk)  # one lock at a time
    open_locks = DataLock.objects.filter(trial=trial, unlocked_at__isnull=True)
    if open_locks.filter(population="").exists():
        raise Conflict(f"{trial.code} is locked already, as a whole.", field="population")
    if open_locks.filter(population=population).exists():
        raise Conflict(f"{population or trial.code} is locked already.", field="population")
    readiness = lock_readiness(trial, population=population)
    if not readiness.ready:
        raise Conflict(
            f"{readiness.total} thing(s) block the lock: see the lock-readiness report.",
            field="readiness",
        )
    last = DataLock.objects.filter(trial=trial, population=population).order_by("-version")
    version = 1 + (last.values_list("version", flat=True).first() or 0)
    lock = DataLock(
        trial=trial,
        population=population,
        forms=sorted(readiness.held_forms or []),
        version=version,
        locked_by=actor,
        locked_at=timezone.now(),
        ledger_seq=0,
        ledger_head="",
    )
    stamp(lock, actor=actor).save()
    event = record(
        event=EventType.DATA_LOCKED,
        actor=actor,
        channel=channel,
        obj=lock,
        changes={
            "version": [None, version],
            "population": [None, population or "the whole trial"],
        },
        actor_role=actor_role,
    )
    # The lock's place in the ledger is the event that records it, sealed into the chain now.
    event = sealed(event)
    lock.ledger_seq, lock.ledger_head = event.pos, event.hash
    stamp(lock, actor=actor).save(update_fields=["ledger_seq", "ledger_head"])
    return lock


def _unlockers(actor, trial: Trial) -> set[str]:
    return roles_at(actor, None, trial=trial) & (STATISTICIANS | DATA_MANAGERS)


@transaction.atomic(durable=True)
def lock_unlock_request(*, lock: DataLock, actor, channel: Channel, reason: str) -> DataLock:
    """The first of the two people an unlock needs: a statistician or the trial manager asks,
    with a reason; the other confirms (lock_unlock_approve)."""
    lock = DataLock.objects.select_for_update(of=("self",)).select_related("trial").get(pk=lock.pk)
    held = require_role(actor, roles=STATISTICIANS | DATA_MANAGERS, trial=lock.trial)
    if not lock.is_open:
        raise Conflict(f"{lock} was unlocked already.", field="lock")
    if lock.unlock_requested_by_id:
        raise Conflict(
            f"An unlock of {lock} was asked for by {lock.unlock_requested_by.username}: it "
            "waits for the second person.",
            field="lock",
        )
    lock.unlock_reason = given(reason, ask="Give a reason to unlock the data.")
    lock.unlock_requested_by, lock.unlock_requested_at = actor, timezone.now()
    stamp(lock, actor=actor, reason=lock.unlock_reason).save()
    record(
        event=EventType.UNLOCK_REQUESTED,
        actor=actor,
        channel=channel,
        obj=lock,
        changes={"unlock_requested_by": [None, actor.get_username()]},
        reason=lock.unlock_reason,
        actor_role=held,
    )
    return lock


@transaction.atomic(durable=True)
def lock_unlock_approve(*, lock: DataLock, actor, channel: Channel) -> DataLock:
    """The second person: the trial manager confirms a statistician's request, or a
    statistician the trial manager's. The data are then open again; a later lock is a new
    version."""
    lock = (
        DataLock.objects.select_for_update(of=("self",))
        .select_related("trial", "unlock_requested_by")
        .get(pk=lock.pk)
    )
    held = require_role(actor, roles=STATISTICIANS | DATA_MANAGERS, trial=lock.trial)
    if not lock.is_open:
        raise Conflict(f"{lock} was unlocked already.", field="lock")
    requester = lock.unlock_requested_by
    if requester is None:
        raise Conflict(f"No one has asked to unlock {lock}: ask first, with a reason.")
    if requester.pk == actor.pk:
        raise NotPermitted("An unlock needs two different people: someone else must confirm it.")
    asked = _unlockers(requester, lock.trial)
    if not (
        (asked & STATISTICIANS and held & DATA_MANAGERS)
        or (asked & DATA_MANAGERS and held & STATISTICIANS)
    ):
        raise NotPermitted(
            "An unlock needs a statistician and the trial manager: "
            f"{requester.username} asked, so the other of the two must confirm."
        )
    lock.unlocked_by, lock.unlocked_at = actor, timezone.now()
    stamp(lock, actor=actor, reason=lock.unlock_reason).save()
    record(
        event=EventType.DATA_UNLOCKED,
        actor=actor,
        channel=channel,
        obj=lock,
        changes={
            "unlocked": [None, str(lock)],
            "asked_by": [None, requester.get_username()],
        },
        reason=lock.unlock_reason,
        actor_role=held,
    )
    return lock


SHA256 = re.compile(r"^[0-9a-f]{64}$")


@transaction.atomic(durable=True)
def analysis_plan_record(
    *, trial: Trial, actor, channel: Channel, title: str, version: str, sha256: str, final: bool
) -> AnalysisPlan:
    """Record a version of the statistical analysis plan by its document's SHA-256 (the
    document itself stays where the trial keeps it)."""
    held = require_role(actor, roles=STATISTICIANS, trial=trial)
    title, version, sha256 = title.strip(), version.strip(), sha256.strip().lower()
    if not title:
        raise TrialError("Give the plan's title.", field="title")
    if not version:
        raise TrialError("Give the plan's version.", field="version")
    if not SHA256.match(sha256):
        raise TrialError("A SHA-256 is 64 hexadecimal characters.", field="sha256")
    if AnalysisPlan.objects.filter(trial=trial, version=version).exists():
        raise Conflict(f"Version {version} of the plan is recorded already.", field="version")
    plan = AnalysisPlan(
        trial=trial, title=title, version=version, sha256=sha256, final=final, recorded_by=actor
    )
    stamp(plan, actor=actor).save()
    record(
        event=EventType.ANALYSIS_PLAN_RECORDED,
        actor=actor,
        channel=channel,
        obj=plan,
        changes={
            "title": [None, title],
            "version": [None, version],
            "sha256": [None, sha256],
            "final": [None, final],
        },
        actor_role=held,
    )
    return plan
