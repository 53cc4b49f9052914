"""CSV, SPSS and Stata files of one table (a form, or the families). The CSV is written as
rows arrive; SPSS and Stata files are written with pyreadstat from the table's rows, one
table at a time, their header timestamps set to the bundle's time so that the same data
give the same bytes."""

import csv
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat

from .variables import BY_CODE, MISSING, MISSING_RANGE, Variable

SPSS_LABEL = 64  # bytes of an SPSS file label
STATA_LABEL = 80


def cell(value: Any) -> str:
    """A value as CSV text: blank for none, integral floats without a decimal point."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def cells(values: Sequence[Any]) -> list[str]:
    """`cell` of each value, without a call for the common ones (ints and text)."""
    return ["" if x is None else cell(x) if type(x) is float else str(x) for x in values]


def quoted(text: str) -> str:
    """A CSV cell, quoted only when it must be (as the csv module's default dialect does)."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


class CsvTable:
    """A CSV file written row by row: the header is the variables' names."""

    def __init__(self, path: Path, names: Sequence[str]) -> None:
        self.file = path.open("w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.file, lineterminator="\n")
        self.writer.writerow(names)
        self.rows = 0

    def write(self, values: Iterable[Any]) -> None:
        self.writer.writerow([cell(v) for v in values])
        self.rows += 1

    def write_text(self, cells: Sequence[str]) -> None:
        """A row whose cells are text already (see `cell`)."""
        self.writer.writerow(cells)
        self.rows += 1

    def write_lines(self, text: str, count: int) -> None:
        """`count` rows already joined into CSV lines (see `quoted`)."""
        self.file.write(text)
        self.rows += count

    def close(self) -> None:
        self.file.close()


def read_table(path: Path, variables: Sequence[Variable]) -> pd.DataFrame:
    """A table's CSV file read back (in C, by pandas): text as written, numbers as floats."""
    text = {v.name for v in variables if not v.numeric}
    return pd.read_csv(
        path,
        dtype={v.name: (object if v.name in text else "float64") for v in variables},
        keep_default_na=False,
        na_values={v.name: [""] for v in variables if v.name not in text},
        encoding="utf-8",
    )


def _stata_frame(frame: pd.DataFrame, variables: Sequence[Variable]) -> tuple[pd.DataFrame, dict]:
    """Missing-data codes as Stata's extended missing values (.a to .e)."""
    frame = frame.copy()
    used = {}
    codes = list(BY_CODE)
    for v in variables:
        if not (v.numeric and v.missing):
            continue
        column = frame[v.name]
        coded = column.isin(codes)
        if coded.any():
            letters = column[coded].map(lambda x: BY_CODE[int(x)].stata)
            frame[v.name] = column.astype(object).where(~coded, letters)
            used[v.name] = sorted(set(letters))
    return frame, used


def _value_labels(variables: Sequence[Variable], *, spss: bool) -> dict[str, dict]:
    out = {}
    for v in variables:
        labels: dict[float, str] = {float(code): label for code, _, label in v.codes}
        if spss:
            labels.update({float(MISSING[m].code): MISSING[m].label for m in v.missing})
        if labels and v.numeric:
            out[v.name] = labels
    return out


def _stamp_sav(path: Path, at: datetime) -> None:
    """The SPSS header's creation date (dd Mon yy) and time (hh:mm:ss), at bytes 92-109."""
    data = bytearray(path.read_bytes())
    data[92:101] = at.strftime("%d %b %y").encode("ascii")
    data[101:109] = at.strftime("%H:%M:%S").encode("ascii")
    path.write_bytes(bytes(data))


def _stamp_dta(path: Path, at: datetime) -> None:
    """The Stata header's <timestamp> (dd Mon yyyy hh:mm, after a length byte)."""
    data = bytearray(path.read_bytes())
    start = data.index(b"<timestamp>") + len(b"<timestamp>")
    length = data[start]
    if length:
        data[start + 1 : start + 1 + length] = at.strftime("%d %b %Y %H:%M").encode("ascii")
    path.write_bytes(bytes(data))


def write_sav(
    path: Path, variables: Sequence[Variable], frame: pd.DataFrame, *, label: str, at: datetime
) -> None:
    pyreadstat.write_sav(
        frame,
        str(path),
        file_label=label.encode()[:SPSS_LABEL].decode(errors="ignore"),
        column_labels={v.name: v.label for v in variables},
        variable_value_labels=_value_labels(variables, spss=True),
        missing_ranges={
            v.name: [{"lo": float(MISSING_RANGE[0]), "hi": float(MISSING_RANGE[1])}]
            for v in variables
            if v.missing and v.numeric
        },
        variable_measure={
            v.name: "nominal" if v.codes or not v.numeric else "scale" for v in variables
        },
    )
    _stamp_sav(path, at)


def write_dta(
    path: Path, variables: Sequence[Variable], frame: pd.DataFrame, *, label: str, at: datetime
) -> None:
    labels = {
        name: {int(code): text for code, text in pairs.items()}
        for name, pairs in _value_labels(variables, spss=False).items()
    }
    frame, used = _stata_frame(frame, variables)
    pyreadstat.write_dta(
        frame,
        str(path),
        file_label=label[:STATA_LABEL],
        column_labels={v.name: v.label[:STATA_LABEL] for v in variables},
        variable_value_labels=labels,
        missing_user_values=used,
    )
    _stamp_dta(path, at)
