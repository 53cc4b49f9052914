"""Form specifications: one file per form version, read and checked here. Pure Python: no
Django import. Errors name the file and the field.

A spec declares fields (integer, decimal, text, date, single, multiple, yes_no, grid), their
conditions (`show_if`), form-level cross-field checks, the missing-data codes each field
accepts, and the instrument's scoring and alerts. Rules are data, never evaluated as code.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIELD_TYPES = {"integer", "decimal", "text", "date", "single", "multiple", "yes_no", "grid"}
MISSING_CODES = {
    "not_asked": "Not asked",
    "declined": "Declined to answer",
    "not_applicable": "Not applicable",
    "unknown": "Unknown",
}
CHECK_RULES = {"not_before", "not_after", "less_or_equal", "greater_or_equal"}
SCORE_METHODS = {"sum", "mean"}
KEY = re.compile(r"[a-z][a-z0-9_]*")
# The site roles that may enter a form (role keys as the sites app names them).
ENTRY_ROLES = {"site_coordinator", "outcome_assessor", "principal_investigator"}


class SpecError(Exception):
    def __init__(self, path: str, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}")
        self.path, self.where, self.problem = path, where, problem


@dataclass(frozen=True)
class Field:
    key: str
    type: str
    label: str
    help: str = ""
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    decimals: int | None = None
    max_length: int | None = None
    units: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    items: int = 0
    item_label: str = ""
    show_if: dict | None = None
    missing_codes: tuple[str, ...] = ()
    not_before_child_birth: bool = False

    def item_keys(self) -> list[str]:
        return [f"{self.key}_{n}" for n in range(1, self.items + 1)]

    def slot_keys(self) -> list[str]:
        """The keys its answers are stored under: one per grid item, else its own."""
        return self.item_keys() if self.type == "grid" else [self.key]


@dataclass(frozen=True)
class Check:
    rule: str
    field: str
    other: str
    message: str


@dataclass(frozen=True)
class Score:
    key: str
    label: str
    method: str
    grid: str
    items: tuple[int, ...]
    reverse: tuple[int, ...] = ()
    prorate_max_missing: int = 0
    status: str = "confirmed"  # or "unconfirmed": then the score is left uncomputed
    note: str = ""


@dataclass(frozen=True)
class Alert:
    key: str
    field: str
    greater_than: float
    message: str


@dataclass(frozen=True)
class FormSpec:
    form: str
    version: int
    title: str
    fields: tuple[Field, ...]
    checks: tuple[Check, ...] = ()
    scores: tuple[Score, ...] = ()
    alerts: tuple[Alert, ...] = ()
    sources: tuple[str, ...] = ()  # data sources it collects from (withdrawal and consent gates)
    entered_by: tuple[str, ...] = ("site_coordinator",)
    reveals_arm: bool = False  # its content would unblind: blinded roles never see it
    repeatable: bool = False  # an any-time form (adverse event): many per family, no visit
    dated_by: str = ""  # the date field that dates the visit (its window is judged on it)
    source_text: str = field(default="", compare=False)

    def field(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)

    def slots(self) -> list[tuple[str, Field]]:
        """Every answer key of the form with the field it belongs to, in order."""
        return [(key, f) for f in self.fields for key in f.slot_keys()]


def read_spec(path: Path | str) -> FormSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise SpecError(str(path), "(file)", f"cannot be read: {exc}") from exc
    return parse_spec(data, str(path), text)


def parse_spec(data: Any, path: str = "(spec)", text: str = "") -> FormSpec:
    def fail(where: str, problem: str):
        raise SpecError(path, where, problem)

    if not isinstance(data, dict):
        fail("(file)", "must be a mapping")
    known = {
        "form",
        "version",
        "title",
        "fields",
        "checks",
        "scoring",
        "alerts",
        "sources",
        "copyright",
        "entered_by",
        "reveals_arm",
        "repeatable",
        "dated_by",
    }
    for key in data:
        if key not in known:
            fail(key, "unknown key")
    if not isinstance(data.get("form"), str) or not KEY.fullmatch(data["form"]):
        fail("form", "must be a key of lower-case letters, digits and underscores")
    if not isinstance(data.get("version"), int) or data["version"] < 1:
        fail("version", "must be a whole number, 1 or more")
    fields = tuple(_field(f, i, fail) for i, f in enumerate(data.get("fields") or []))
    if not fields:
        fail("fields", "a form needs at least one field")
    keys = [f.key for f in fields]
    for key in keys:
        if keys.count(key) > 1:
            fail(f"fields.{key}", "appears twice")
    by_key = {f.key: f for f in fields}
    for f in fields:
        if f.show_if and f.show_if["field"] not in by_key:
            fail(f"fields.{f.key}.show_if", f"names no field '{f.show_if['field']}'")
    checks = tuple(_check(c, i, by_key, fail) for i, c in enumerate(data.get("checks") or []))
    scores = tuple(_score(s, i, by_key, fail) for i, s in enumerate(data.get("scoring") or []))
    alerts = tuple(_alert(a, i, by_key, fail) for i, a in enumerate(data.get("alerts") or []))
    entered_by = data.get("entered_by", ["site_coordinator"])
    if not isinstance(entered_by, list) or not entered_by:
        fail("entered_by", "must list the roles that enter this form")
    for role in entered_by:
        if role not in ENTRY_ROLES:
            fail("entered_by", f"unknown role '{role}' (known: {', '.join(sorted(ENTRY_ROLES))})")
    for flag in ("reveals_arm", "repeatable", "copyright"):
        if not isinstance(data.get(flag, False), bool):
            fail(flag, "must be true or false")
    if data.get("reveals_arm") and "outcome_assessor" in entered_by:
        fail("entered_by", "a form that reveals the arm cannot be entered by a blinded assessor")
    dated_by = data.get("dated_by", "")
    if dated_by and (dated_by not in by_key or by_key[dated_by].type != "date"):
        fail("dated_by", f"'{dated_by}' is not a date field of this form")
    if dated_by and not by_key[dated_by].required:
        fail(f"fields.{dated_by}.required", "the field that dates the visit must be required")
    sources = data.get("sources") or []
    if not isinstance(sources, list) or not all(isinstance(x, str) for x in sources):
        fail("sources", "must be a list of data source keys")
    return FormSpec(
        form=data["form"],
        version=data["version"],
        title=str(data.get("title") or data["form"]),
        fields=fields,
        checks=checks,
        scores=scores,
        alerts=alerts,
        sources=tuple(sources),
        entered_by=tuple(entered_by),
        reveals_arm=bool(data.get("reveals_arm")),
        repeatable=bool(data.get("repeatable")),
        dated_by=dated_by,
        source_text=text,
    )


def _field(raw: Any, i: int, fail) -> Field:
    if not isinstance(raw, dict):
        fail(f"fields[{i}]", "must be a mapping")
    key = raw.get("key")
    where = f"fields.{key}" if isinstance(key, str) else f"fields[{i}]"
    allowed = {
        "key",
        "type",
        "label",
        "help",
        "required",
        "min",
        "max",
        "decimals",
        "max_length",
        "units",
        "choices",
        "items",
        "item_label",
        "show_if",
        "missing_codes",
        "not_before_child_birth",
    }
    for name in raw:
        if name not in allowed:
            fail(f"{where}.{name}", "unknown key")
    if not isinstance(key, str) or not KEY.fullmatch(key):
        fail(where, "key must be lower-case letters, digits and underscores")
    kind = raw.get("type")
    if kind not in FIELD_TYPES:
        fail(
            f"{where}.type",
            f"unknown field type '{kind}' (known: {', '.join(sorted(FIELD_TYPES))})",
        )
    if not isinstance(raw.get("label"), str) or not raw["label"].strip():
        fail(f"{where}.label", "is required")
    choices = ()
    if kind in ("single", "multiple"):
        listed = raw.get("choices")
        if not isinstance(listed, list) or not listed:
            fail(f"{where}.choices", "a choice field needs choices")
        choices = tuple(
            (str(c["value"]), str(c.get("label", c["value"])))
            if isinstance(c, dict)
            else (str(c), str(c))
            for c in listed
        )
    if kind == "grid":
        if not isinstance(raw.get("items"), int) or raw["items"] < 1:
            fail(f"{where}.items", "a grid needs a number of items")
        if raw.get("min") is None or raw.get("max") is None:
            fail(f"{where}.min", "a grid needs the scale's min and max")
    for bound in ("min", "max"):
        if raw.get(bound) is not None and not isinstance(raw[bound], int | float):
            fail(f"{where}.{bound}", "must be a number")
    if raw.get("min") is not None and raw.get("max") is not None and raw["min"] > raw["max"]:
        fail(f"{where}.min", "is above max")
    codes = tuple(raw.get("missing_codes") or ())
    for code in codes:
        if code not in MISSING_CODES:
            fail(f"{where}.missing_codes", f"unknown missing code '{code}'")
    show_if = raw.get("show_if")
    if show_if is not None and (
        not isinstance(show_if, dict)
        or "field" not in show_if
        or not ({"equals", "in"} & set(show_if))
    ):
        fail(f"{where}.show_if", "needs a field and equals or in")
    return Field(
        key=key,
        type=kind,
        label=raw["label"],
        help=str(raw.get("help") or ""),
        required=bool(raw.get("required")),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        decimals=raw.get("decimals"),
        max_length=raw.get("max_length"),
        units=str(raw.get("units") or ""),
        choices=choices,
        items=int(raw.get("items") or 0),
        item_label=str(raw.get("item_label") or ""),
        show_if=show_if,
        missing_codes=codes,
        not_before_child_birth=bool(raw.get("not_before_child_birth")),
    )


def _check(raw: Any, i: int, by_key: dict, fail) -> Check:
    where = f"checks[{i}]"
    if not isinstance(raw, dict) or raw.get("rule") not in CHECK_RULES:
        fail(f"{where}.rule", f"must be one of {', '.join(sorted(CHECK_RULES))}")
    for name in ("field", "other"):
        if raw.get(name) not in by_key:
            fail(f"{where}.{name}", f"names no field '{raw.get(name)}'")
    return Check(
        rule=raw["rule"],
        field=raw["field"],
        other=raw["other"],
        message=str(raw.get("message") or f"{raw['field']} {raw['rule']} {raw['other']}"),
    )


def _score(raw: Any, i: int, by_key: dict, fail) -> Score:
    where = f"scoring[{i}]"
    if not isinstance(raw, dict) or raw.get("method") not in SCORE_METHODS:
        fail(f"{where}.method", "must be sum or mean")
    grid = by_key.get(raw.get("grid"))
    if grid is None or grid.type != "grid":
        fail(f"{where}.grid", "must name a grid field")
    items = tuple(raw.get("items") or range(1, grid.items + 1))
    for n in (*items, *(raw.get("reverse") or ())):
        if not isinstance(n, int) or not 1 <= n <= grid.items:
            fail(f"{where}.items", f"item {n} is not in {grid.key} (1 to {grid.items})")
    if raw.get("status", "confirmed") not in ("confirmed", "unconfirmed"):
        fail(f"{where}.status", "must be confirmed or unconfirmed")
    return Score(
        key=str(raw.get("key")),
        label=str(raw.get("label") or raw.get("key")),
        method=raw["method"],
        grid=grid.key,
        items=items,
        reverse=tuple(raw.get("reverse") or ()),
        prorate_max_missing=int(raw.get("prorate_max_missing") or 0),
        status=raw.get("status", "confirmed"),
        note=str(raw.get("note") or ""),
    )


def _alert(raw: Any, i: int, by_key: dict, fail) -> Alert:
    where = f"alerts[{i}]"
    target = str(raw.get("field", "")) if isinstance(raw, dict) else ""
    grid, _, number = target.rpartition("_")
    known = target in by_key or (
        grid in by_key and number.isdigit() and 1 <= int(number) <= by_key[grid].items
    )
    if not known or not isinstance(raw.get("greater_than"), int | float):
        fail(where, "needs a field (or grid item) and greater_than")
    return Alert(
        key=str(raw.get("key")),
        field=target,
        greater_than=raw["greater_than"],
        message=str(raw.get("message") or ""),
    )
