"""A form spec as page widgets, and a page's POST as the answers the services take.
Conditions are applied here as the answers stand, so a field not asked is not shown."""

from dataclasses import dataclass, field
from typing import Any

from .spec import MISSING_CODES, FormSpec
from .validation import _shown

MISSING_SUFFIX = "__missing"


@dataclass
class Slot:
    """One input: a field, or one item of a grid."""

    key: str
    label: str
    value: Any = ""
    missing: str = ""
    error: str = ""


@dataclass
class Widget:
    key: str
    type: str
    label: str
    help: str
    required: bool
    units: str
    minimum: Any
    maximum: Any
    choices: tuple
    missing_codes: list[tuple[str, str]]
    shown: bool
    slots: list[Slot] = field(default_factory=list)

    @property
    def slot(self) -> Slot:
        return self.slots[0]


def answers_from_post(spec: FormSpec, post) -> dict[str, Any]:
    """The POSTed answers as {field: value or {"missing": code}}; blanks are left out."""
    answers: dict[str, Any] = {}
    for f in spec.fields:
        for key in f.slot_keys():
            code = post.get(key + MISSING_SUFFIX, "")
            if code:
                answers[key] = {"missing": code}
            elif f.type == "multiple":
                chosen = [c for c in post.getlist(key) if c]
                if chosen:
                    answers[key] = chosen
            else:
                value = post.get(key, "").strip()
                if value:
                    answers[key] = value
    return answers


def stored_answers(response) -> dict[str, Any]:
    answers = dict(response.values)
    answers.update({k: {"missing": v} for k, v in response.missing.items()})
    return answers


def _display(f, value: Any) -> Any:
    if f.type == "yes_no" and isinstance(value, bool):
        return "yes" if value else "no"
    return value


def widgets(spec: FormSpec, answers: dict[str, Any], errors: dict[str, str]) -> list[Widget]:
    """Widgets with the answers filled in, conditions applied and errors beside fields."""
    typed = {}
    for key, value in answers.items():
        if isinstance(value, dict):
            continue
        f = spec.field(key)
        typed[key] = (
            {"yes": True, "no": False}.get(value, value) if f and f.type == "yes_no" else value
        )
    out = []
    for f in spec.fields:
        w = Widget(
            key=f.key,
            type=f.type,
            label=f.label,
            help=f.help,
            required=f.required,
            units=f.units,
            minimum=f.minimum,
            maximum=f.maximum,
            choices=f.choices,
            missing_codes=[(c, MISSING_CODES[c]) for c in f.missing_codes],
            shown=_shown(f, typed),
        )
        for key in f.slot_keys():
            value = answers.get(key, "")
            missing = value.get("missing", "") if isinstance(value, dict) else ""
            w.slots.append(
                Slot(
                    key=key,
                    label=f.slot_label(key),
                    value="" if missing else _display(f, value),
                    missing=missing,
                    error=errors.get(key, ""),
                )
            )
        out.append(w)
    return out
