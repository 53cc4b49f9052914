"""The DMC report's job lives beside the service that queues it (reports.dmc); it is named
here so that the worker's task discovery finds it."""

from .dmc import build_dmc_report

__all__ = ["build_dmc_report"]
