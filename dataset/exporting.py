"""Analysis exports as services: asking for one (who may, and when an unblinded export is
allowed), building it in a Celery job that reports its progress, and handing it out.

A blinded export is allowed at any time; without a lock it is an interim snapshot. An
unblinded analysis export waits for the trial (or the population) to be locked and a final
statistical analysis plan; an unblinded interim snapshot for the data monitoring committee
is allowed before that, marked "interim, not locked" in every file."""

from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.events import EventType
from audit.ledger import record
from audit.sealing import sealed_head
from core.channels import Channel
from core.errors import Conflict, NotPermitted, TrialError
from core.roles import Role
from lock.models import DataLock
from outbox.services import enqueue as enqueue_task
from randomisation.concealment import blinded_within
from sites.permissions import require_role
from sites.selectors import roles_at
from trial.config import config_of
from trial.models import Trial

from .export.bundle import build_bundle, steps
from .export.scope import scope_of
from .models import AnalysisPlan, Export
from .services import STATISTICIANS

# An interim snapshot is re-read when the data moved while it was written.
INTERIM_ATTEMPTS = 3


def may_export_unblinded(user, trial: Trial) -> bool:
    """An unblinded statistician for the whole trial who holds no blinded role in it."""
    return Role.STATISTICIAN_UNBLINDED in roles_at(user, None, trial=trial) and not (
        blinded_within(user, trial)
    )


@transaction.atomic(durable=True)
def export_request(
    *,
    trial: Trial,
    actor,
    channel: Channel,
    blinded: bool,
    interim: bool,
    population: str = "",
    enqueue: bool = True,
) -> Export:
    held = require_role(actor, roles=STATISTICIANS, trial=trial)
    if not blinded and not may_export_unblinded(actor, trial):
        raise NotPermitted("Only an unblinded statistician may export the arms.")
    population = population.strip()
    if population and config_of(trial).analysis.population(population) is None:
        raise TrialError(f"There is no analysis population {population}.", field="population")
    lock = plan = None
    if interim:
        if population:
            raise TrialError(
                "An interim snapshot holds every form: leave the population out.",
                field="population",
            )
    else:
        lock = (
            DataLock.objects.filter(trial=trial, population=population, unlocked_at__isnull=True)
            .order_by("-version")
            .first()
        )
        if lock is None:
            raise Conflict(
                f"{population or trial.code} is not locked: lock it first, or ask for an "
                "interim snapshot.",
                field="interim",
            )
    if not blinded and not interim:
        plan = AnalysisPlan.objects.filter(trial=trial, final=True).order_by("-recorded_at").first()
        if plan is None:
            raise Conflict(
                "An unblinded analysis export waits for a final statistical analysis plan: "
                "record it first.",
                field="plan",
            )
    export = Export.objects.create(
        trial=trial, blinded=blinded, interim=interim, lock=lock, plan=plan, requested_by=actor
    )
    record(
        event=EventType.EXPORT_REQUESTED,
        actor=actor,
        channel=channel,
        obj=export,
        changes={"export": [None, export.describe()]},
        actor_role=held,
    )
    if enqueue:
        pk = export.pk
        enqueue_task(build_export, pk)
    return export


@shared_task(name="dataset.tasks.build_export")
def build_export(export_id: int) -> str:
    """The job: a worker builds the bundle (or, with no broker, the request that asked)."""
    return export_build(export_id).status


def _progress(export: Export, **fields) -> None:
    Export.objects.filter(pk=export.pk).update(**fields)


def export_build(export_id: int) -> Export:
    """Build the bundle of an export asked for; record it, or its failure, in the ledger."""
    export = Export.objects.select_related("trial", "lock", "plan", "requested_by").get(
        pk=export_id
    )
    if export.status != Export.Status.QUEUED:
        return export  # a job delivered twice builds once
    _progress(export, status=Export.Status.RUNNING, step="Starting")
    try:
        built, scope = _build(export)
    except Exception as exc:
        message = exc.message if isinstance(exc, TrialError) else f"{type(exc).__name__}: {exc}"
        _finish_failed(export, message)
        if isinstance(exc, TrialError):
            return Export.objects.get(pk=export.pk)
        raise
    return _finish_done(export, built, scope)


def _build(export: Export):
    done = {"n": 0}
    root = Path(settings.EXPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    for _attempt in range(INTERIM_ATTEMPTS):
        if (
            export.lock_id
            and not DataLock.objects.filter(pk=export.lock_id, unlocked_at__isnull=True).exists()
        ):
            raise Conflict(f"{export.lock} was unlocked before the export was built.")
        scope = scope_of(trial=export.trial, blinded=export.blinded, lock=export.lock)
        total = steps(scope)
        done["n"] = 0
        _progress(export, total_steps=total, done_steps=0)

        def tick(step: str) -> None:
            _progress(export, step=step[:200], done_steps=done["n"])
            done["n"] += 1

        target = root / f"export-{export.pk}-{scope.bundle_id}.zip"
        plan = (
            {
                "title": export.plan.title,
                "version": export.plan.version,
                "sha256": export.plan.sha256,
            }
            if export.plan
            else None
        )
        built = build_bundle(scope, target=target, plan=plan, tick=tick)
        if not export.interim:
            return built, scope
        # The data of an interim snapshot are open: every change writes the ledger, so an
        # unmoved ledger means nothing changed while the files were written.
        if sealed_head()[0] == scope.ledger_seq:
            return built, scope
        target.unlink(missing_ok=True)
    raise Conflict("The data kept changing while the snapshot was written: try again.")


@transaction.atomic(durable=True)
def _finish_done(export: Export, built, scope) -> Export:
    export = Export.objects.select_for_update().get(pk=export.pk)
    export.status = Export.Status.DONE
    export.step = "Ready"
    export.done_steps = export.total_steps
    export.bundle_id = scope.bundle_id
    export.file_name = built.path.name
    export.size, export.sha256 = built.size, built.sha256
    export.manifest_sha256 = built.manifest_sha256
    export.ledger_seq = scope.ledger_seq
    export.finished_at = timezone.now()
    export.save()
    record(
        event=EventType.EXPORT_BUILT,
        actor=export.requested_by,
        channel=Channel.TASK,
        obj=export,
        changes={
            "bundle_id": [None, scope.bundle_id],
            "manifest_sha256": [None, built.manifest_sha256],
            "sha256": [None, built.sha256],
            "size": [None, built.size],
            "data_ledger_seq": [None, scope.ledger_seq],
        },
        actor_role=",".join(sorted(roles_at(export.requested_by, None, trial=export.trial))),
    )
    return export


@transaction.atomic(durable=True)
def _finish_failed(export: Export, message: str) -> None:
    Export.objects.filter(pk=export.pk).update(
        status=Export.Status.FAILED, error=message[:2000], finished_at=timezone.now()
    )
    record(
        event=EventType.EXPORT_FAILED,
        actor=export.requested_by,
        channel=Channel.TASK,
        obj=export,
        reason=message[:2000],
        actor_role=",".join(sorted(roles_at(export.requested_by, None, trial=export.trial))),
    )


@transaction.atomic(durable=True)
def export_download(*, export: Export, actor, channel: Channel) -> Path:
    """The bundle's file, once the download is in the ledger."""
    held = require_role(actor, roles=STATISTICIANS, trial=export.trial)
    if not export.blinded and not may_export_unblinded(actor, export.trial):
        raise NotPermitted("Only an unblinded statistician may download an unblinded export.")
    if export.status != Export.Status.DONE:
        raise Conflict(f"Export {export.pk} is not ready ({export.get_status_display()}).")
    path = Path(settings.EXPORT_ROOT) / export.file_name
    if not path.is_file():
        raise Conflict(f"The bundle of export {export.pk} is no longer on the server.")
    record(
        event=EventType.EXPORT_DOWNLOADED,
        actor=actor,
        channel=channel,
        obj=export,
        changes={"sha256": [None, export.sha256]},
        actor_role=held,
    )
    return path
