"""Reading a bundle back in tests: its members, its CSV files as dicts, and what a value of
the database should be in the export, worked out here from the spec and the stored answer
(not with the exporter's own code)."""

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

from django.conf import settings

from dataset.models import Export

CODES = {"not_asked": -99991, "declined": -99992, "not_applicable": -99993, "unknown": -99994}
NOT_DONE = -99995
STATA = {-99991: "a", -99992: "b", -99993: "c", -99994: "d", -99995: "e"}


def bundle(export: Export) -> zipfile.ZipFile:
    export.refresh_from_db()
    assert export.status == Export.Status.DONE, export.error
    return zipfile.ZipFile(Path(settings.EXPORT_ROOT) / export.file_name)


def table(zf: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8"))))


def odm_xsd() -> Path:
    import odmlib

    return Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"


def expected_values(spec, response, randomised_on: date | None) -> dict[str, object]:
    """{source: value} of one response as the export must carry it, by the dictionary's
    `source` (the answer key, `key=choice` of a multiple choice, `score:key`)."""
    out: dict[str, object] = {}
    for f in spec.fields:
        keys = f.slot_keys()
        for key in keys:
            if key in response.missing:
                code = CODES[response.missing[key]]
                if f.type == "multiple":
                    for value, _ in f.choices:
                        out[f"{key}={value}"] = code
                else:
                    out[key] = code
                continue
            raw = response.values.get(key)
            if f.type == "multiple":
                for value, _ in f.choices:
                    out[f"{key}={value}"] = None if raw is None else int(value in raw)
            elif raw is None:
                out[key] = None
            elif f.type == "single":
                out[key] = [v for v, _ in f.choices].index(raw) + 1
            elif f.type == "yes_no":
                out[key] = 1 if raw else 0
            elif f.type == "date":
                out[key] = (
                    None
                    if randomised_on is None
                    else (date.fromisoformat(raw) - randomised_on).days
                )
            elif f.type == "decimal":
                out[key] = float(raw)
            elif f.type == "text":
                out[key] = raw
            else:
                out[key] = int(raw)
    for score in spec.scores:
        value = (response.scores.get(score.key) or {}).get("value")
        out[f"score:{score.key}"] = None if value is None else float(value)
    return out


def labels_of(spec) -> dict[str, dict[int, str]]:
    """{variable: {code: label}} for the single-choice fields."""
    return {
        f.key: {n: label for n, (_, label) in enumerate(f.choices, start=1)}
        for f in spec.fields
        if f.type == "single"
    }
