import csv
import io
from collections.abc import Iterator

from django.http import StreamingHttpResponse

from audit.events import Channel

from .models import RandomisationList, Slot
from .services import sequence_export_record


def list_csv(rlist: RandomisationList) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["list", "mode", "stratum", "position", "block", "block_size", "arm", "allocated_to"]
    )
    slots = (
        Slot.objects.filter(stratum__rlist=rlist)
        .select_related("stratum")
        .order_by("stratum__key", "position")
    )
    for slot in slots.iterator(chunk_size=2000):
        family = getattr(getattr(slot, "allocation", None), "family", None)
        writer.writerow(
            [
                rlist.pk,
                rlist.mode,
                slot.stratum.key,
                slot.position,
                slot.block,
                slot.block_size,
                slot.arm,
                family.identifier if family else "",
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def list_csv_response(*, rlist: RandomisationList, actor, channel: Channel):
    sequence_export_record(rlist=rlist, actor=actor, channel=channel)
    response = StreamingHttpResponse(list_csv(rlist), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="allocation-list-{rlist.pk}.csv"'
    return response
