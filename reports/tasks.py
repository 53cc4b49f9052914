"""The reports' background jobs. The DMC report's job lives beside the service that queues
it (reports.dmc); it is named here so that the worker's task discovery finds it."""

from celery import shared_task

from trial.models import Trial

from .dmc import build_dmc_report
from .nightly import keep_figures

__all__ = ["build_dmc_report", "keep_report_figures"]


@shared_task
def keep_report_figures() -> int:
    """Each trial's report figures for the new day, counted and kept (reports.nightly)."""
    trials = list(Trial.objects.all())
    for trial in trials:
        keep_figures(trial)
    return len(trials)
