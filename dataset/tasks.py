from celery import shared_task

from .exporting import export_build


@shared_task
def build_export(export_id: int) -> str:
    return export_build(export_id).status
