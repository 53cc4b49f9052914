"""The export job lives beside the service that queues it (dataset.exporting); it is named
here so that the worker's task discovery finds it."""

from .exporting import build_export

__all__ = ["build_export"]
