"""The unblinded statistician's copy of a sealed list, as CSV (the export is recorded)."""

from collections.abc import Iterator

from django.http import StreamingHttpResponse

from core.channels import Channel
from core.csvfile import csv_download, csv_lines

from .models import RandomisationList, Slot
from .services import sequence_export_record

COLUMNS = ["list", "mode", "stratum", "position", "block", "block_size", "arm", "allocated_to"]


def list_rows(rlist: RandomisationList) -> Iterator[list]:
    slots = (
        Slot.objects.filter(stratum__rlist=rlist)
        .select_related("stratum", "allocation__family")
        .order_by("stratum__key", "position")
    )
    for slot in slots.iterator(chunk_size=2000):
        family = getattr(getattr(slot, "allocation", None), "family", None)
        yield [
            rlist.pk,
            rlist.mode,
            slot.stratum.key,
            slot.position,
            slot.block,
            slot.block_size,
            slot.arm,
            family.identifier if family else "",
        ]


def list_csv_response(
    *, rlist: RandomisationList, actor, channel: Channel
) -> StreamingHttpResponse:
    sequence_export_record(rlist=rlist, actor=actor, channel=channel)
    return csv_download(
        csv_lines(COLUMNS, list_rows(rlist), chunk=2000),
        filename=f"allocation-list-{rlist.pk}.csv",
    )
