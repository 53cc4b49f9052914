"""The bundle: every file written into a folder, then zipped with fixed member times and
order, so that the same data give the same bytes. MANIFEST.json lists every file's
SHA-256 and size, the rows per form, the lock, the ledger position and the spec versions."""

import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from crf.models import FormDefinition

from . import odm
from .dictionary import write_dictionary
from .rows import Record, families, family_table_variables, family_values, records
from .scope import FormPart, Scope
from .scripts import r_script, stata_do_file
from .tabular import CsvTable, cell, cells, quoted, read_table, write_dta, write_sav
from .variables import MISSING, Variable

FORMAT = "reconnect-export/1"
MANIFEST = "MANIFEST.json"
READ_BLOCK = 1 << 20
ZIP_LEVEL = 1


@dataclass(frozen=True)
class Built:
    path: Path
    size: int
    sha256: str
    manifest_sha256: str
    manifest: dict


def _key_columns(scope: Scope, part: FormPart) -> list[Variable]:
    day = (
        Variable(
            "visit_day",
            "The form's date, in days from randomisation",
            "days",
            part.form,
            unit="days from randomisation",
        )
        if scope.dates == "days_from_randomisation"
        else Variable("visit_date", "The form's date", "date", part.form)
    )
    keys = [
        Variable("family", "Family (trial identifier)", "text", part.form),
        Variable("site", "Site", "text", part.form),
        Variable("visit", "Visit (blank: a form entered at any time)", "text", part.form),
        Variable("repeat", "The n-th of this form at this visit", "integer", part.form),
        Variable("form_version", "Version of the form's specification", "integer", part.form),
        Variable("form_status", "draft, complete, verified or not_done", "text", part.form),
        day,
    ]
    if not scope.blinded:
        arms = scope.config.randomisation.arms
        keys.append(
            Variable(
                "arm",
                "Allocated arm",
                "coded",
                part.form,
                "arm",
                tuple((n, k, label) for n, (k, label) in enumerate(arms.items(), start=1)),
            )
        )
    return keys


def _state_column(form: str) -> Variable:
    return Variable(
        "data_state", "Locked (with the lock's version) or interim, not locked", "text", form
    )


def _check_names(file: str, variables: Sequence[Variable]) -> None:
    seen: set[str] = set()
    for v in variables:
        if v.name in seen:
            raise ValueError(f"{file}: two variables are named {v.name}")
        seen.add(v.name)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(READ_BLOCK):
            h.update(block)
    return h.hexdigest()


def build_bundle(
    scope: Scope,
    *,
    target: Path,
    plan: dict | None = None,
    tick: Callable[[str], None] = lambda step: None,
) -> Built:
    """Write the bundle to `target` (a .zip path). `tick` is told each step as it starts."""
    with tempfile.TemporaryDirectory(prefix="export-") as tmp:
        folder = Path(tmp)
        manifest = _write_files(scope, folder, plan=plan, tick=tick)
        tick("Zipping the bundle")
        manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
        (folder / MANIFEST).write_bytes(manifest_bytes)
        _zip(folder, target, scope)
    return Built(
        path=target,
        size=target.stat().st_size,
        sha256=_digest(target),
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        manifest=manifest,
    )


def steps(scope: Scope) -> int:
    """The steps `tick` is told of: the families, ten shares of the single pass over the
    responses, each table's SPSS and Stata files, the dictionary and scripts, the zip."""
    return 1 + PASS_TICKS + (1 + len(scope.forms)) + 2


PASS_TICKS = 10


def _write_files(scope: Scope, folder: Path, *, plan: dict | None, tick) -> dict:
    state, at = scope.state, scope.as_of
    # The state first: an SPSS file label keeps 64 bytes only.
    label = f"{state}: {scope.trial.short_name} {scope.kind} export"
    days = scope.dates == "days_from_randomisation"
    tick("Reading the families")
    family_rows = families(scope)
    by_family = {f.pk: f for f in family_rows}
    family_vars = family_table_variables(scope, arms=not scope.blinded)
    family_columns = [
        Variable("family", "Family (trial identifier)", "text", "families"),
        Variable("site", "Site", "text", "families"),
        *family_vars,
        _state_column("families"),
    ]
    _check_names("families", family_columns)
    arm_variable = next((v for v in family_vars if v.name == "arm"), None)
    tables: list[tuple[str, str, Sequence[Variable]]] = [("families", "Families", family_columns)]
    columns_of: dict[str, list[Variable]] = {}
    wide: dict[str, CsvTable] = {}
    for part in scope.forms:
        columns = [*_key_columns(scope, part), *part.variables, _state_column(part.form)]
        _check_names(part.form, columns)
        tables.append((part.form, part.title, columns))
        columns_of[part.form] = columns
        wide[part.form] = CsvTable(folder / f"{part.form}.csv", [v.name for v in columns])
    names_of = {p.form: [(v.name, not v.numeric) for v in p.variables] for p in scope.forms}
    family_table = CsvTable(folder / "families.csv", [v.name for v in family_columns])
    long_keys = ["family", "site", "visit", "repeat", "form", "form_version", "form_status"]
    if arm_variable is not None:
        long_keys.append("arm")
    long = CsvTable(folder / "long.csv", [*long_keys, "variable", "value", "data_state"])
    odm_file = odm.OdmWriter(folder / "odm.xml", scope, family_vars)
    state_text = quoted(state) + "\n"

    # One pass over the responses, family by family: each value is read and turned into
    # text once, for its form's wide file, the long file and the ODM file.
    tick("Writing the tables and the CDISC ODM file")
    grouped = groupby(records(scope, scope.forms, by_family), key=lambda r: r.family.rank)
    pending = next(grouped, None)
    share = max(1, len(family_rows) // PASS_TICKS)
    for n, family in enumerate(family_rows, start=1):
        family_texts = cells(family_values(scope, family, family_vars))
        family_table.write_text([family.identifier, family.site, *family_texts, state])
        arm = ""
        if arm_variable is not None:
            arm = cell(arm_variable.code_of(family.values["arm"]))
        forms: list[tuple[Record, list[str]]] = []
        if pending is not None and pending[0] == family.rank:
            for r in pending[1]:
                texts = cells(r.values)
                forms.append((r, texts))
                day = r.visit_day if days else (r.dated_on.isoformat() if r.dated_on else None)
                head = [
                    family.identifier,
                    family.site,
                    r.visit,
                    str(r.number),
                    cell(r.version),
                    r.status,
                ]
                keys = [*head, cell(day)]
                if arm_variable is not None:
                    keys.append(arm)
                wide[r.part.form].write_text([*keys, *texts, state])
                # The long file's rows share all but the variable and its value: joined once.
                head = [*head[:4], r.part.form, *head[4:]]
                if arm_variable is not None:
                    head.append(arm)
                before = ",".join(quoted(h) for h in head) + ","
                lines = [
                    f"{before}{name},{quoted(text) if is_text else text},{state_text}"
                    for (name, is_text), text in zip(names_of[r.part.form], texts, strict=True)
                    if text != ""
                ]
                long.write_lines("".join(lines), len(lines))
            pending = next(grouped, None)
        odm_file.subject(family.identifier, family_texts, forms)
        if n % share == 0 and n // share < PASS_TICKS:
            tick(f"Writing the tables and the CDISC ODM file ({n} of {len(family_rows)} families)")
    odm_file.close()
    long.close()
    family_table.close()
    for table in wide.values():
        table.close()

    # SPSS and Stata files, a table at a time, from its CSV file.
    for name, _, columns in tables:
        tick(f"Writing the SPSS and Stata files of {name}")
        frame = read_table(folder / f"{name}.csv", columns)
        write_sav(folder / f"{name}.sav", columns, frame, label=f"{label}: {name}", at=at)
        write_dta(folder / f"{name}.dta", columns, frame, label=f"{label}: {name}", at=at)
        del frame
    tick("Writing the data dictionary and the scripts")
    context = {
        "trial": scope.trial,
        "state": state,
        "kind": scope.kind,
        "bundle_id": scope.bundle_id,
        "as_of": at.isoformat(),
        "dates": scope.dates,
        "blinded": scope.blinded,
    }
    write_dictionary(folder, tables, context=context)
    header = f"{scope.trial.short_name}, export {scope.bundle_id} ({scope.kind}, {state})."
    (folder / "analysis.R").write_text(r_script(tables, header=header), encoding="utf-8")
    (folder / "analysis.do").write_text(stata_do_file(tables, header=header), encoding="utf-8")
    counts = {form: table.rows for form, table in wide.items()}
    return _manifest(scope, folder, plan=plan, counts=counts, families=len(family_rows))


def _manifest(scope: Scope, folder: Path, *, plan, counts, families: int) -> dict:
    lock = scope.lock
    definitions = FormDefinition.objects.filter(
        trial=scope.trial, form__in=[p.form for p in scope.forms]
    ).order_by("form", "version")
    specs: dict[str, list[dict]] = {}
    for form, version, sha256 in definitions.values_list("form", "version", "sha256"):
        specs.setdefault(form, []).append({"version": version, "sha256": sha256})
    files = sorted(p.name for p in folder.iterdir())
    return {
        "format": FORMAT,
        "bundle_id": scope.bundle_id,
        "trial": {"code": scope.trial.code, "name": scope.trial.short_name},
        "kind": scope.kind,
        "state": scope.state,
        "interim": scope.interim,
        "as_of": scope.as_of.isoformat(),
        "lock": None
        if lock is None
        else {
            "version": lock.version,
            "population": lock.population or None,
            "forms": lock.forms or "all",
            "locked_at": lock.locked_at.isoformat(),
        },
        "ledger": {"seq": scope.ledger_seq, "head": scope.ledger_head},
        "analysis_plan": plan,
        "dates": scope.dates,
        "families": families,
        "forms": [
            {"form": p.form, "rows": counts[p.form], "specs": specs.get(p.form, [])}
            for p in scope.forms
        ],
        "missing_codes": {
            m.key: {"code": m.code, "stata": f".{m.stata}", "label": m.label}
            for m in MISSING.values()
        },
        "files": [
            {"name": name, "sha256": _digest(folder / name), "size": (folder / name).stat().st_size}
            for name in files
        ],
    }


def _zip(folder: Path, target: Path, scope: Scope) -> None:
    at = scope.as_of.utctimetuple()[:6]
    stamp = max(at, (1980, 1, 1, 0, 0, 0))
    names = [MANIFEST, *sorted(p.name for p in folder.iterdir() if p.name != MANIFEST)]
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w") as zf:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            # The fastest deflate: the files are text that compresses well at any level.
            # (Python 3.13 names the attribute compress_level; 3.11 and 3.12 _compresslevel.)
            setattr(
                info,
                "compress_level" if hasattr(info, "compress_level") else "_compresslevel",
                ZIP_LEVEL,
            )
            info.create_system = 3
            info.external_attr = 0o644 << 16
            path = folder / name
            with (
                path.open("rb") as src,
                zf.open(info, "w", force_zip64=path.stat().st_size > (1 << 30)) as dst,
            ):
                shutil.copyfileobj(src, dst, READ_BLOCK)
    partial.replace(target)
