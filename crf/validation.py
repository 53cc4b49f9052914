"""Checks a response against its form spec. Pure Python: no Django import.

A value is given, blank, or a missing-data code ({"missing": "declined"}), which is not
blank: it says why there is no value. Errors (wrong type, out of range, unknown choice, a
missing code the field does not accept, a value for a field not asked, a failed cross-field
check) refuse the save; blanks in required fields only keep the response a draft."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .spec import MISSING_CODES, Field, FormSpec


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.errors and not self.incomplete


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def _coerce(f: Field, value: Any, *, child_born: date | None) -> Any:
    """The value as its type, or ValueError with a message for the person entering it."""
    kind = f.type
    if kind != "multiple" and isinstance(value, dict | list):
        raise ValueError("must be a single value")
    if kind in ("integer", "grid"):
        if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
            raise ValueError("must be a whole number")
        number = int(str(value).strip())
        _range(f, number)
        return number
    if kind == "decimal":
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError("must be a number") from exc
        if not number.is_finite():
            raise ValueError("must be a number")
        if f.decimals is not None and -number.as_tuple().exponent > f.decimals:
            raise ValueError(f"at most {f.decimals} decimal places")
        _range(f, number)
        return str(number)
    if kind == "text":
        text = str(value)
        if f.max_length and len(text) > f.max_length:
            raise ValueError(f"at most {f.max_length} characters")
        return text
    if kind == "date":
        try:
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError as exc:
            raise ValueError("must be a date (YYYY-MM-DD)") from exc
        if f.not_before_child_birth and child_born and day < child_born:
            raise ValueError("cannot be before the child's date of birth")
        return day.isoformat()
    if kind == "single":
        if str(value) not in dict(f.choices):
            raise ValueError(f"'{value}' is not one of the choices")
        return str(value)
    if kind == "multiple":
        chosen = value if isinstance(value, list) else [value]
        if any(isinstance(c, dict | list) for c in chosen):
            raise ValueError("must be a list of choices")
        unknown = [c for c in chosen if str(c) not in dict(f.choices)]
        if unknown:
            raise ValueError(f"'{unknown[0]}' is not one of the choices")
        return sorted({str(c) for c in chosen})
    if kind == "yes_no":
        if value in (True, "yes", "true"):
            return True
        if value in (False, "no", "false"):
            return False
        raise ValueError("must be yes or no")
    raise ValueError(f"unknown field type {kind}")


def _range(f: Field, number) -> None:
    if f.minimum is not None and number < Decimal(str(f.minimum)):
        raise ValueError(f"must be at least {f.minimum}")
    if f.maximum is not None and number > Decimal(str(f.maximum)):
        raise ValueError(f"must be at most {f.maximum}")


def _shown(f: Field, values: dict[str, Any]) -> bool:
    if not f.show_if:
        return True
    return f.show_if.matches(values.get(f.show_if.field))


def check(spec: FormSpec, raw: dict[str, Any], *, child_born: date | None = None) -> Checked:
    result = Checked()
    slots = spec.slots()
    known = {key for key, _ in slots}
    for key in raw:
        if key not in known:
            result.errors[key] = "is not a field of this form"
    for key, f in slots:
        value = raw.get(key)
        if isinstance(value, dict) and set(value) == {"missing"}:
            code = value["missing"]
            if code not in MISSING_CODES or code not in f.missing_codes:
                result.errors[key] = f"'{code}' is not a missing-data code this field accepts"
            else:
                result.missing[key] = code
            continue
        if _blank(value):
            continue
        try:
            result.values[key] = _coerce(f, value, child_born=child_born)
        except ValueError as exc:
            result.errors[key] = str(exc)
    # Conditions: a field not asked holds nothing; a required field asked must be answered.
    for key, f in slots:
        if not _shown(f, result.values):
            if key in result.values or key in result.missing:
                result.errors[key] = f"is asked only when {f.show_if.field} is {f.show_if.expected}"
            continue
        if (
            f.required
            and key not in result.values
            and key not in result.missing
            and key not in result.errors
        ):
            result.incomplete.append(key)
    for c in spec.checks:
        a, b = result.values.get(c.field), result.values.get(c.other)
        if a is None or b is None:
            continue
        if c.rule in ("not_before", "not_after"):
            a, b = date.fromisoformat(a), date.fromisoformat(b)
        else:
            a, b = Decimal(str(a)), Decimal(str(b))
        failed = {
            "not_before": a < b,
            "not_after": a > b,
            "less_or_equal": a > b,
            "greater_or_equal": a < b,
        }[c.rule]
        if failed:
            result.errors.setdefault(c.field, c.message)
    return result
