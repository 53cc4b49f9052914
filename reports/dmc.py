"""The data monitoring committee's report as services: asking for one (who may, for which
part), building its PDF in a Celery job that reports its progress, and handing it out.

The open part (recruitment, the CONSORT diagram, data quality, SAEs) is pooled over the arms
whoever asks for it, so that it can go to the committee's open session. The closed part
compares the arms; only a viewer who may see the arms compared (reports.scope.may_see_closed)
generates or downloads it, and it carries its marking on every page."""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.events import EventType
from audit.ledger import record
from audit.sealing import sealed_head
from core.channels import Channel
from core.clock import today
from core.errors import Conflict, NotPermitted, TrialError
from core.roles import BLINDED_ROLES, Role
from outbox.services import enqueue
from sites.permissions import require_role
from sites.selectors import open_memberships, roles_at
from trial.models import Trial

from .adverse_events import adverse_events_of
from .balance import balance_of
from .consort import consort_of
from .models import DmcReport
from .outcome import outcome_of
from .pdf import pdf_of
from .quality import quality_of
from .recruitment import recruitment_of
from .scope import ReportScope, may_see_closed, report_scope

logger = logging.getLogger(__name__)

# Who may generate (and download) the open part: the trial-wide roles that oversee the trial.
OPEN_MAKERS = frozenset(
    {Role.TRIAL_MANAGER, Role.STATISTICIAN_BLINDED, Role.STATISTICIAN_UNBLINDED}
)
CLOSED_MARK = "CLOSED: for the DMC's closed session only"


def may_generate(user, trial: Trial, part: str) -> bool:
    """Whether the user may generate (and download) this part of the trial's DMC report."""
    if part == DmcReport.Part.CLOSED:
        return may_see_closed(user, trial)
    return bool(roles_at(user, None, trial=trial) & OPEN_MAKERS)


def _require(actor, trial: Trial, part: str) -> set[str]:
    """The roles the actor acts in for this part; NotPermitted when they may not."""
    if part == DmcReport.Part.CLOSED:
        if not may_see_closed(actor, trial):
            raise NotPermitted(
                "Only an unblinded statistician who holds no blinded role in the trial can "
                "generate or download the closed report."
            )
        return {Role.STATISTICIAN_UNBLINDED}
    return require_role(actor, roles=OPEN_MAKERS, trial=trial)


def dmc_reports_visible_to(user) -> QuerySet[DmcReport]:
    """The reports the user may see: the open ones of the trials where they may generate
    one, and the closed ones only where they may see the arms compared (the rule of
    may_see_closed, for every trial at once)."""
    held = open_memberships(user)
    trial_wide = held.filter(site__isnull=True)
    blinded = held.filter(role__in=BLINDED_ROLES).values("trial_id")
    open_trials = trial_wide.filter(role__in=OPEN_MAKERS).values("trial_id")
    closed_trials = (
        trial_wide.filter(role=Role.STATISTICIAN_UNBLINDED)
        .exclude(trial_id__in=blinded)
        .values("trial_id")
    )
    return DmcReport.objects.filter(
        Q(part=DmcReport.Part.OPEN, trial_id__in=open_trials)
        | Q(part=DmcReport.Part.CLOSED, trial_id__in=closed_trials)
    ).select_related("trial", "requested_by")


@transaction.atomic(durable=True)
def dmc_report_request(*, trial: Trial, actor, channel: Channel, part: str) -> DmcReport:
    """Ask for a DMC report of the whole trial, data as of today: a job builds its PDF."""
    if part not in DmcReport.Part.values:
        raise TrialError("Choose the open or the closed report.", field="part")
    held = _require(actor, trial, part)
    report = DmcReport.objects.create(
        trial=trial, part=part, data_as_of=today(), requested_by=actor
    )
    record(
        event=EventType.DMC_REPORT_REQUESTED,
        actor=actor,
        channel=channel,
        obj=report,
        changes={"report": [None, report.describe()]},
        actor_role=held,
    )
    pk = report.pk
    enqueue(build_dmc_report, pk)
    return report


@shared_task(name="reports.tasks.build_dmc_report")
def build_dmc_report(report_id: int) -> str:
    """The job: a worker builds the PDF (or, with no broker, the request that asked)."""
    return dmc_report_build(report_id).status


@dataclass(frozen=True)
class Planned:
    """A section of the report: its heading, the selector that counts it for a scope, and the
    body partial the report's own page uses. `headed`: the partial has its own heading."""

    key: str
    title: str
    build: Callable[[ReportScope], Any]
    partial: str
    headed: bool = False


@dataclass(frozen=True)
class Section:
    """A section as printed: what was planned, the report counted, the scope it was for."""

    plan: Planned
    report: Any
    scope: ReportScope


# The open part, pooled over the arms whoever asks for it.
OPEN_SECTIONS: tuple[Planned, ...] = (
    Planned("recruitment", "Recruitment", recruitment_of, "reports/_recruitment_body.html"),
    Planned("consort", "CONSORT flow diagram", consort_of, "reports/_consort_body.html"),
    Planned("quality", "Data quality", quality_of, "reports/_quality_body.html"),
    Planned(
        "saes", "Serious adverse events", adverse_events_of, "reports/_adverse_events_body.html"
    ),
)
# The closed part, by arm: only in the closed report, after the open part.
CLOSED_SECTIONS: tuple[Planned, ...] = (
    Planned(
        "balance",
        "Baseline balance and allocations by factor level",
        balance_of,
        "reports/_balance_body.html",
    ),
    Planned(
        "outcome", "Primary outcome so far", outcome_of, "reports/_outcome_body.html", headed=True
    ),
    Planned(
        "saes-by-arm",
        "Serious adverse events by arm",
        adverse_events_of,
        "reports/_adverse_events_body.html",
    ),
)


def _progress(report: DmcReport, **fields) -> None:
    DmcReport.objects.filter(pk=report.pk).update(**fields)


def dmc_report_build(report_id: int) -> DmcReport:
    """Build the PDF of a report asked for; record it, or its failure, in the ledger. A
    failure is kept on the record (and logged), never raised to whoever ran the job."""
    report = DmcReport.objects.select_related("trial", "requested_by").get(pk=report_id)
    if report.status != DmcReport.Status.QUEUED:
        return report  # a job delivered twice builds once
    _progress(report, status=DmcReport.Status.RUNNING, step="Starting")
    try:
        pdf, ledger_seq = _build(report)
        path = _store(report, pdf)
    except Exception as exc:
        if isinstance(exc, TrialError):
            message = exc.message
        else:
            logger.exception("DMC report %s failed", report.pk)
            message = f"{type(exc).__name__}: {exc}"
        _finish_failed(report, message)
    else:
        _finish_done(report, path, pdf, ledger_seq)
    return DmcReport.objects.select_related("trial", "requested_by").get(pk=report.pk)


def _scopes(report: DmcReport) -> tuple[ReportScope, ReportScope | None]:
    """The open part's scope (the whole trial pooled over the arms, whoever asked) and, for
    the closed report, the closed part's, checked again now: a role may have ended."""
    scope = report_scope(report.requested_by, report.trial, on=report.data_as_of)
    pooled = replace(scope, by_arm=False, closed=False)
    if not report.closed:
        return pooled, None
    if not (scope.closed and scope.by_arm):
        raise NotPermitted(
            f"{report.requested_by.get_username()} may no longer see the arms compared: the "
            "closed report was not generated."
        )
    return pooled, scope


def _build(report: DmcReport) -> tuple[bytes, int]:
    pooled, closed = _scopes(report)
    planned = [(s, pooled) for s in OPEN_SECTIONS]
    if closed is not None:
        planned += [(s, closed) for s in CLOSED_SECTIONS]
    total = len(planned) + 2  # the sections, the PDF, the file
    _progress(report, total_steps=total, done_steps=0)
    ledger_seq = sealed_head()[0]
    sections: list[Section] = []
    for done, (plan, scope) in enumerate(planned):
        _progress(report, step=f"Counting: {plan.title}"[:200], done_steps=done)
        sections.append(Section(plan, plan.build(scope), scope))
    _progress(report, step="Making the PDF", done_steps=len(planned))
    pdf = pdf_of(
        "reports/dmc_report.html",
        {
            "report": report,
            "trial": report.trial,
            "scope": pooled,
            "open_sections": [s for s in sections if s.scope is pooled],
            "closed_sections": [s for s in sections if s.scope is not pooled],
            "closed_mark": CLOSED_MARK,
            "generated_at": timezone.now(),
            "ledger_seq": ledger_seq,
        },
    )
    _progress(report, step="Keeping the file", done_steps=len(planned) + 1)
    return pdf, ledger_seq


def _store(report: DmcReport, pdf: bytes) -> Path:
    root = Path(settings.REPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"dmc-{report.trial.code.lower()}-{report.part}-{report.pk}.pdf"
    path.write_bytes(pdf)
    return path


@transaction.atomic(durable=True)
def _finish_done(report: DmcReport, path: Path, pdf: bytes, ledger_seq: int) -> None:
    report = DmcReport.objects.select_for_update().get(pk=report.pk)
    digest = hashlib.sha256(pdf).hexdigest()
    report.status = DmcReport.Status.DONE
    report.step = "Ready"
    report.done_steps = report.total_steps
    report.file_name = path.name
    report.size = len(pdf)
    report.sha256 = digest
    report.finished_at = timezone.now()
    report.save()
    record(
        event=EventType.DMC_REPORT_GENERATED,
        actor=report.requested_by,
        channel=Channel.TASK,
        obj=report,
        changes={
            "sha256": [None, digest],
            "size": [None, report.size],
            "data_ledger_seq": [None, ledger_seq],
        },
        actor_role=roles_at(report.requested_by, None, trial=report.trial),
    )


@transaction.atomic(durable=True)
def _finish_failed(report: DmcReport, message: str) -> None:
    DmcReport.objects.filter(pk=report.pk).update(
        status=DmcReport.Status.FAILED, error=message[:2000], finished_at=timezone.now()
    )
    record(
        event=EventType.DMC_REPORT_FAILED,
        actor=report.requested_by,
        channel=Channel.TASK,
        obj=report,
        reason=message[:2000],
        actor_role=roles_at(report.requested_by, None, trial=report.trial),
    )


@transaction.atomic(durable=True)
def dmc_report_download(*, report: DmcReport, actor, channel: Channel) -> Path:
    """The report's PDF, once the download is in the ledger."""
    held = _require(actor, report.trial, report.part)
    if report.status != DmcReport.Status.DONE:
        raise Conflict(f"DMC report {report.pk} is not ready ({report.get_status_display()}).")
    path = Path(settings.REPORT_ROOT) / report.file_name
    if not path.is_file():
        raise Conflict(f"The PDF of DMC report {report.pk} is no longer on the server.")
    record(
        event=EventType.DMC_REPORT_DOWNLOADED,
        actor=actor,
        channel=channel,
        obj=report,
        changes={"sha256": [None, report.sha256]},
        actor_role=held,
    )
    return path
