"""The one CSV writer for every file the system lets people download: streamed in chunks,
and safe to open in a spreadsheet."""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

# A text cell starting with one of these is run as a formula by spreadsheets (with the
# full-width forms some locales accept).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralised(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, made inert by a leading
    apostrophe (OWASP's advice). Numbers are left as they are: -3 is data, not a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, chunk: int = 500
) -> Iterator[str]:
    """The header, then the rows, as CSV text in pieces of about `chunk` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([neutralised(v) for v in header])
    pending = 0
    for row in rows:
        writer.writerow([neutralised(v) for v in row])
        pending += 1
        if pending >= chunk:
            yield flush()
            pending = 0
    yield flush()


def csv_download(lines: Iterator[str], *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
