"""CSV, SPSS and Stata files of one table (a form, or the families). The CSV is written as
rows arrive; SPSS and Stata files are written with pyreadstat from the table's rows, one
table at a time, their header timestamps set to the bundle's time so that the same data
give the same bytes."""

import csv
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
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

    def close(self) -> None:
        self.file.close()


def _frame(variables: Sequence[Variable], rows: list[list], *, stata: bool) -> pd.DataFrame:
    columns = {}
    for i, v in enumerate(variables):
        raw = [row[i] for row in rows]
        if not v.numeric:
            columns[v.name] = pd.Series(["" if x is None else str(x) for x in raw], dtype=object)
        elif stata and any(x in BY_CODE for x in raw):
            # Stata's extended missing values (.a to .e) stand for the missing-data codes.
            columns[v.name] = pd.Series(
                [
                    np.nan if x is None else BY_CODE[x].stata if x in BY_CODE else float(x)
                    for x in raw
                ],
                dtype=object,
            )
        else:
            columns[v.name] = pd.Series(
                [np.nan if x is None else float(x) for x in raw], dtype="float64"
            )
    return pd.DataFrame(columns)


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
    path: Path, variables: Sequence[Variable], rows: list[list], *, label: str, at: datetime
) -> None:
    pyreadstat.write_sav(
        _frame(variables, rows, stata=False),
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
    path: Path, variables: Sequence[Variable], rows: list[list], *, label: str, at: datetime
) -> None:
    labels = {
        name: {int(code): text for code, text in pairs.items()}
        for name, pairs in _value_labels(variables, spss=False).items()
    }
    used = {
        v.name: sorted({BY_CODE[x].stata for row in rows if (x := row[i]) in BY_CODE})
        for i, v in enumerate(variables)
        if v.numeric and v.missing
    }
    pyreadstat.write_dta(
        _frame(variables, rows, stata=True),
        str(path),
        file_label=label[:STATA_LABEL],
        column_labels={v.name: v.label[:STATA_LABEL] for v in variables},
        variable_value_labels=labels,
        missing_user_values={name: codes for name, codes in used.items() if codes},
    )
    _stamp_dta(path, at)


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
