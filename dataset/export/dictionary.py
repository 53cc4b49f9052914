"""The data dictionary, as CSV and as a page: every variable of every file, with its label,
type, unit, range, codes and their labels, missing-data codes and derivation."""

from collections.abc import Sequence
from pathlib import Path

from django.template.loader import render_to_string

from .tabular import CsvTable, cell
from .variables import MISSING, Variable

TYPES = {
    "integer": "integer",
    "decimal": "decimal number",
    "text": "text",
    "date": "date (ISO 8601 text, YYYY-MM-DD)",
    "days": "integer: days from randomisation",
    "coded": "integer code (see codes)",
    "yes_no": "1 = yes, 0 = no",
    "indicator": "1 = chosen, 0 = not chosen",
}
COLUMNS = [
    "file",
    "variable",
    "source",
    "label",
    "form",
    "visits",
    "type",
    "unit",
    "minimum",
    "maximum",
    "codes",
    "system_values",
    "missing_codes",
    "derivation",
]


def entry(file: str, v: Variable) -> dict[str, str]:
    return {
        "file": file,
        "variable": v.name,
        "source": f"{v.source}={v.choice}" if v.choice else v.source,
        "label": v.label,
        "form": v.form,
        "visits": " ".join(v.visits),
        "type": TYPES[v.kind],
        "unit": v.unit,
        "minimum": cell(None if v.minimum is None else float(v.minimum)),
        "maximum": cell(None if v.maximum is None else float(v.maximum)),
        "codes": "; ".join(f"{code}={label}" for code, _, label in v.codes),
        "system_values": "; ".join(f"{code}={system}" for code, system, _ in v.codes),
        "missing_codes": "; ".join(f"{MISSING[m].code}={MISSING[m].label}" for m in v.missing),
        "derivation": v.derivation,
    }


def write_dictionary(
    directory: Path, tables: Sequence[tuple[str, str, Sequence[Variable]]], *, context: dict
) -> None:
    entries = [entry(file, v) for file, _, variables in tables for v in variables]
    table = CsvTable(directory / "dictionary.csv", COLUMNS)
    for e in entries:
        table.write([e[c] for c in COLUMNS])
    table.close()
    page = render_to_string(
        "dataset/export_dictionary.html",
        {
            **context,
            "tables": [
                (file, title, [entry(file, v) for v in variables])
                for file, title, variables in tables
            ],
            "missing": list(MISSING.values()),
        },
    )
    (directory / "dictionary.html").write_text(page, encoding="utf-8")
