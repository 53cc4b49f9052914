"""Form specifications: one file per form version, read and checked against its schema.
Pure Python (pydantic): no Django import. Errors name the file and the field.
`docs/schemas/form-spec.schema.json` is made from this module.

A spec declares fields (integer, decimal, text, date, single, multiple, yes_no, grid), their
conditions (`show_if`), form-level cross-field checks, the missing-data codes each field
accepts, and the instrument's scoring and alerts. Rules are data, never evaluated as code.
"""

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from core.schema import At, Flag, Key, Number, Schema, Text, Whole, first_problem

FIELD_TYPES = ("integer", "decimal", "text", "date", "single", "multiple", "yes_no", "grid")
MISSING_CODES = {
    "not_asked": "Not asked",
    "declined": "Declined to answer",
    "not_applicable": "Not applicable",
    "unknown": "Unknown",
}
# The site roles that may enter a form (role keys as core.roles names them).
ENTRY_ROLES = ("site_coordinator", "outcome_assessor", "principal_investigator")
Answer = StrictStr | StrictBool | StrictInt | float


class SpecError(Exception):
    def __init__(self, path: str, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}")
        self.path, self.where, self.problem = path, where, problem


class Choice(Schema):
    value: StrictStr | StrictInt
    label: StrictStr = ""


class ShowIf(Schema):
    """Asked only when another field's answer equals a value, or is one of several."""

    field: Key
    equals: Answer | None = None
    in_: list[Answer] | None = Field(default=None, alias="in")

    @model_validator(mode="after")
    def _one_test(self):
        if self.equals is None and self.in_ is None:
            raise At("", "needs a field and equals or in")
        return self

    @property
    def expected(self) -> Any:
        return self.equals if self.in_ is None else self.in_

    def matches(self, answer: Any) -> bool:
        return answer == self.equals if self.in_ is None else answer in self.in_


class FormField(Schema):
    key: Key
    type: Literal[FIELD_TYPES]  # type: ignore[valid-type]
    label: Text
    help: StrictStr = ""
    required: Flag = False
    minimum: Number | None = Field(default=None, alias="min")
    maximum: Number | None = Field(default=None, alias="max")
    decimals: Whole | None = Field(default=None, ge=0)
    max_length: Whole | None = Field(default=None, ge=1)
    units: StrictStr = ""
    choices_given: list[StrictStr | StrictInt | Choice] = Field(default=[], alias="choices")
    items: Whole = Field(default=0, ge=0, description="a grid's number of items")
    item_label: StrictStr = ""
    show_if: ShowIf | None = None
    missing_codes: list[Literal[tuple(MISSING_CODES)]] = []  # type: ignore[valid-type]
    not_before_child_birth: Flag = False

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value):
        if value not in FIELD_TYPES:
            raise At("", f"unknown field type '{value}' (known: {', '.join(sorted(FIELD_TYPES))})")
        return value

    @field_validator("missing_codes", mode="before")
    @classmethod
    def _known_codes(cls, value):
        for code in value if isinstance(value, list) else []:
            if code not in MISSING_CODES:
                raise At("", f"unknown missing code '{code}'")
        return value

    @model_validator(mode="after")
    def _fits_its_type(self):
        if self.type in ("single", "multiple") and not self.choices_given:
            raise At("choices", "a choice field needs choices")
        if self.type == "grid":
            if self.items < 1:
                raise At("items", "a grid needs a number of items")
            if self.minimum is None or self.maximum is None:
                raise At("min", "a grid needs the scale's min and max")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise At("min", "is above max")
        return self

    @property
    def choices(self) -> tuple[tuple[str, str], ...]:
        """(value, label) of each choice, values as text."""
        return tuple(
            (str(c.value), c.label or str(c.value)) if isinstance(c, Choice) else (str(c), str(c))
            for c in self.choices_given
        )

    def item_keys(self) -> list[str]:
        return [f"{self.key}_{n}" for n in range(1, self.items + 1)]

    def slot_keys(self) -> list[str]:
        """The keys its answers are stored under: one per grid item, else its own."""
        return self.item_keys() if self.type == "grid" else [self.key]

    def slot_label(self, key: str) -> str:
        """The question one of its answer keys stands for: its label, or for a grid's item
        the spec's item label with the item's number ("PSI-4-SF item 3"), the grid's label
        and the number when the spec gives none ("CORE-10 item 1")."""
        if self.type != "grid":
            return self.label
        n = key.rsplit("_", 1)[1]
        return (self.item_label or f"{self.label} item {{n}}").replace("{n}", n)


class Check(Schema):
    rule: Literal["not_before", "not_after", "less_or_equal", "greater_or_equal"]
    field: Key
    other: Key
    message: StrictStr = ""

    @model_validator(mode="before")
    @classmethod
    def _say_it(cls, data):
        if isinstance(data, dict) and not data.get("message"):
            return {
                **data,
                "message": f"{data.get('field')} {data.get('rule')} {data.get('other')}",
            }
        return data


class Score(Schema):
    key: Key
    label: StrictStr = ""
    method: Literal["sum", "mean"]
    grid: Key
    items: list[Annotated[StrictInt, Field(ge=1)]] = Field(default=[], description="all if empty")
    reverse: list[Annotated[StrictInt, Field(ge=1)]] = []
    prorate_max_missing: Whole = Field(default=0, ge=0)
    status: Literal["confirmed", "unconfirmed"] = Field(
        default="confirmed", description="unconfirmed: the score is left uncomputed"
    )
    note: StrictStr = ""

    @model_validator(mode="before")
    @classmethod
    def _labelled(cls, data):
        if isinstance(data, dict) and not data.get("label"):
            return {**data, "label": str(data.get("key"))}
        return data


class Alert(Schema):
    key: Key
    field: StrictStr = Field(description="a field, or a grid item such as item_6")
    greater_than: Number
    message: StrictStr = ""


class FormSpec(Schema):
    form: Key
    version: Whole = Field(ge=1)
    title: StrictStr = ""
    fields: list[FormField] = Field(min_length=1)
    checks: list[Check] = []
    scores: list[Score] = Field(default=[], alias="scoring")
    alerts: list[Alert] = []
    sources: list[Key] = Field(default=[], description="data sources it collects from")
    copyright: Flag = Field(default=False, description="the item text is not shipped")
    entered_by: list[Literal[ENTRY_ROLES]] = Field(  # type: ignore[valid-type]
        default=["site_coordinator"], min_length=1
    )
    reveals_arm: Flag = Field(default=False, description="blinded roles never see it")
    repeatable: Flag = Field(default=False, description="an any-time form: many per family")
    dated_by: StrictStr = Field(default="", description="the date field that dates the visit")
    source_text: SkipJsonSchema[str] = Field(default="", exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _titled(cls, data):
        if isinstance(data, dict) and not data.get("title") and isinstance(data.get("form"), str):
            return {**data, "title": data["form"]}
        return data

    @model_validator(mode="after")
    def _references(self):
        by_key: dict[str, FormField] = {}
        for f in self.fields:
            if f.key in by_key:
                raise At(f"fields.{f.key}", "appears twice")
            by_key[f.key] = f
        for f in self.fields:
            if f.show_if and f.show_if.field not in by_key:
                raise At(f"fields.{f.key}.show_if", f"names no field '{f.show_if.field}'")
        for i, check in enumerate(self.checks):
            for name in ("field", "other"):
                if getattr(check, name) not in by_key:
                    raise At(f"checks[{i}].{name}", f"names no field '{getattr(check, name)}'")
        for i, score in enumerate(self.scores):
            grid = by_key.get(score.grid)
            if grid is None or grid.type != "grid":
                raise At(f"scoring[{i}].grid", "must name a grid field")
            for n in (*score.items, *score.reverse):
                if n > grid.items:
                    raise At(
                        f"scoring[{i}].items", f"item {n} is not in {grid.key} (1 to {grid.items})"
                    )
        for i, alert in enumerate(self.alerts):
            grid, _, number = alert.field.rpartition("_")
            known = alert.field in by_key or (
                grid in by_key and number.isdigit() and 1 <= int(number) <= by_key[grid].items
            )
            if not known:
                raise At(f"alerts[{i}].field", "needs a field (or grid item) and greater_than")
        if self.reveals_arm and "outcome_assessor" in self.entered_by:
            raise At(
                "entered_by", "a form that reveals the arm cannot be entered by a blinded assessor"
            )
        if self.dated_by:
            dating = by_key.get(self.dated_by)
            if dating is None or dating.type != "date":
                raise At("dated_by", f"'{self.dated_by}' is not a date field of this form")
            if not dating.required:
                raise At(
                    f"fields.{self.dated_by}.required",
                    "the field that dates the visit must be required",
                )
        return self

    def field(self, key: str) -> FormField | None:
        return next((f for f in self.fields if f.key == key), None)

    def slots(self) -> list[tuple[str, FormField]]:
        """Every answer key of the form with the field it belongs to, in order."""
        return [(key, f) for f in self.fields for key in f.slot_keys()]

    def slot_label(self, key: str) -> str:
        """The question an answer key stands for, in the form's words: a field's label, a
        grid's item by its item label ("PSI-4-SF item 3"); the key itself if it is none."""
        for slot, f in self.slots():
            if slot == key:
                return f.slot_label(key)
        return key


# Read as a form's field by the code that validates, scores and renders it.
Field = FormField


def _named_by_key(parents: tuple) -> bool:
    """A form's fields are named by their key in errors: `fields.mood.items`."""
    return parents == ("fields",)


def read_spec(path: Path | str) -> FormSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise SpecError(str(path), "(file)", f"cannot be read: {exc}") from exc
    return parse_spec(data, str(path), text)


def parse_spec(data: Any, path: str = "(spec)", text: str = "") -> FormSpec:
    if not isinstance(data, dict):
        raise SpecError(path, "(file)", "must be a mapping")
    try:
        spec = FormSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(path, *first_problem(exc, data, _named_by_key)) from None
    return spec.model_copy(update={"source_text": text})
