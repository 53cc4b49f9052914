"""The export's variables, made from the form specs and the trial definition, and each
value as it leaves the system. Pure Python: no Django.

Values are codes, never labels: a single choice becomes its 1-based position in the spec's
choices (the dictionary gives the system's value and the label of each code), yes/no is
1/0, a multiple choice is one 0/1 variable per choice, dates are days from randomisation
(or ISO text, as the trial definition says). A value withheld for a reason carries a
negative missing-data code, the same code in every file; a value simply absent is blank.
"""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from crf.spec import MISSING_CODES, FormField, FormSpec


@dataclass(frozen=True)
class Missing:
    key: str
    code: int  # in CSV, SPSS (user-missing) and ODM
    stata: str  # Stata extended missing value, .a to .e
    label: str


# A form marked "not done" has a row whose every variable carries NOT_DONE.
NOT_DONE = "not_done"
MISSING: dict[str, Missing] = {
    m.key: m
    for m in (
        Missing("not_asked", -99991, "a", MISSING_CODES["not_asked"]),
        Missing("declined", -99992, "b", MISSING_CODES["declined"]),
        Missing("not_applicable", -99993, "c", MISSING_CODES["not_applicable"]),
        Missing("unknown", -99994, "d", MISSING_CODES["unknown"]),
        Missing(NOT_DONE, -99995, "e", "Form not done (the reason is recorded)"),
    )
}
# SPSS's user-missing range: every code above, and room for more. Far below any real value:
# days from randomisation are negative for what came before it, and must never be read as
# a missing code (a value in the range is refused, see `value`).
MISSING_RANGE = (-99999, -99991)
BY_CODE = {m.code: m for m in MISSING.values()}

Kind = Literal["integer", "decimal", "text", "date", "days", "coded", "yes_no", "indicator"]
NUMERIC_KINDS = {"integer", "decimal", "days", "coded", "yes_no", "indicator"}
# Stata's longest name; SPSS allows 64.
MAX_NAME = 32
YES_NO = ((1, "true", "Yes"), (0, "false", "No"))


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    kind: Kind
    form: str  # a form key, or "families"
    source: str = ""  # the answer key, score key or attribute it is read from
    codes: tuple[tuple[int, str, str], ...] = ()  # (code, system value, label)
    missing: tuple[str, ...] = ()  # the missing-data keys it may carry
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    decimals: int | None = None
    derivation: str = ""
    visits: tuple[str, ...] = ()
    choice: str = ""  # an indicator's choice value

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    def code_of(self, value: Any) -> int | None:
        text = _text(value)
        return next((code for code, system, _ in self.codes if system == text), None)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def short_name(key: str) -> str:
    """A name Stata accepts: a longer key keeps its first 27 characters and a digest."""
    if len(key) <= MAX_NAME:
        return key
    return f"{key[:27]}_{hashlib.sha256(key.encode()).hexdigest()[:4]}"


def _field_variables(
    spec: FormSpec, f: FormField, dates: str, visits: tuple[str, ...]
) -> list[Variable]:
    common = {
        "form": spec.form,
        "missing": (*f.missing_codes, NOT_DONE),
        "unit": f.units,
        "visits": visits,
    }
    if f.show_if:
        expected = f.show_if.expected
        common["derivation"] = f"asked only when {f.show_if.field} is {expected}"
    if f.type == "grid":
        return [
            Variable(
                name=short_name(key),
                label=f.slot_label(key),
                kind="integer",
                source=key,
                minimum=f.minimum,
                maximum=f.maximum,
                **common,
            )
            for key in f.item_keys()
        ]
    if f.type == "multiple":
        return [
            Variable(
                name=short_name(f"{f.key}_{value}"),
                label=f"{f.label}: {label}",
                kind="indicator",
                source=f.key,
                choice=value,
                codes=YES_NO,
                **common,
            )
            for value, label in f.choices
        ]
    kind: Kind
    extra: dict[str, Any] = {}
    if f.type == "single":
        kind = "coded"
        extra["codes"] = tuple(
            (n, value, label) for n, (value, label) in enumerate(f.choices, start=1)
        )
    elif f.type == "yes_no":
        kind, extra["codes"] = "yes_no", YES_NO
    elif f.type == "date":
        kind = "days" if dates == "days_from_randomisation" else "date"
        if kind == "days":
            extra["unit"] = "days from randomisation"
    elif f.type in ("integer", "decimal"):
        kind = f.type
        extra.update(minimum=f.minimum, maximum=f.maximum, decimals=f.decimals)
    else:
        kind = "text"
    return [
        Variable(
            name=short_name(f.key), label=f.label, kind=kind, source=f.key, **{**common, **extra}
        )
    ]


def form_variables(
    specs: list[FormSpec], *, dates: str, visits: tuple[str, ...] = ()
) -> list[Variable]:
    """A form's variables over all its versions (later versions add what they add), then
    its scores. A name given twice is refused: the export would be ambiguous."""
    found: dict[str, Variable] = {}
    for spec in specs:
        for f in spec.fields:
            for variable in _field_variables(spec, f, dates, visits):
                found.setdefault(variable.name, variable)
    for spec in specs:
        for score in spec.scores:
            name = short_name(score.key)
            if name in found and found[name].source != score.key:
                raise ValueError(f"{spec.form}: the score {score.key} has a field's name")
            items = score.items or list(range(1, spec.field(score.grid).items + 1))
            how = [f"{score.method} of {score.grid} items {_ranges(items)}"]
            if score.reverse:
                how.append(f"items {_ranges(score.reverse)} reverse-scored")
            if score.prorate_max_missing:
                how.append(f"prorated with up to {score.prorate_max_missing} items missing")
            else:
                how.append("blank if any item is missing")
            if score.status != "confirmed":
                how.append("not computed: the scoring rule is unconfirmed")
            found.setdefault(
                name,
                Variable(
                    name=name,
                    label=score.label,
                    kind="decimal",
                    form=spec.form,
                    source=f"score:{score.key}",
                    missing=(NOT_DONE,),
                    derivation="; ".join(how),
                    visits=visits,
                ),
            )
    return list(found.values())


def _ranges(numbers: list[int]) -> str:
    out, start = [], None
    ordered = sorted(numbers)
    for i, n in enumerate(ordered):
        start = n if start is None else start
        if i + 1 == len(ordered) or ordered[i + 1] != n + 1:
            out.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ", ".join(out)


@dataclass
class Answers:
    """One response as stored: what the variables are read from."""

    values: dict[str, Any]
    missing: dict[str, str] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    not_done: bool = False


def value(variable: Variable, answers: Answers, randomised: date | None) -> Any:
    """The variable's value in the export: an int, a float, a str, or None (blank)."""
    if answers.not_done:
        return None if variable.kind in ("text", "date") else MISSING[NOT_DONE].code
    return _reader(variable)(answers.values, answers.missing, answers.scores, randomised)


Reader = Callable[[dict, dict, dict, date | None], Any]


def encoder(variables: Sequence[Variable]) -> Callable[[dict, dict, dict, date | None], list]:
    """A function from one stored response (values, missing codes, scores, the family's
    randomisation date) to its variables' values: `value` for every variable, prepared once
    for a table rather than worked out again for each of its million values."""
    readers = [_reader(v) for v in variables]

    def encode(values: dict, missing: dict, scores: dict, randomised: date | None) -> list:
        return [read(values, missing, scores, randomised) for read in readers]

    return encode


def not_done_values(variables: Sequence[Variable]) -> list:
    return [value(v, Answers(values={}, not_done=True), None) for v in variables]


def _reader(v: Variable) -> Reader:
    source, kind = v.source, v.kind
    if source.startswith("score:"):
        key = source[6:]

        def score(values, missing, scores, randomised):
            raw = (scores.get(key) or {}).get("value")
            return None if raw is None else float(raw)

        return score
    coded_as = {m.key: (m.code if v.numeric else str(m.code)) for m in MISSING.values()}
    if kind == "integer" and v.minimum is not None and v.minimum > MISSING_RANGE[1]:
        # Most values: an integer answer whose range keeps it clear of the missing codes.
        def whole(values, missing, scores, randomised):
            if missing and source in missing and missing[source] in coded_as:
                return coded_as[missing[source]]
            raw = values.get(source)
            return raw if raw is None or type(raw) is int else _not_a_code(int(raw))

        return whole
    if kind == "indicator":
        convert = _indicator(v.choice)
    elif kind in ("coded", "yes_no"):
        codes = {system: code for code, system, _ in v.codes}

        def convert(raw, randomised):
            return codes.get(_text(raw))
    elif kind == "integer":

        def convert(raw, randomised):
            return _not_a_code(int(raw))
    elif kind == "decimal":

        def convert(raw, randomised):
            return _not_a_code(float(raw))
    elif kind == "days":
        convert = days_from
    else:

        def convert(raw, randomised):
            return str(raw)

    def read(values, missing, scores, randomised):
        if missing and source in missing:
            code = missing[source]
            if code in coded_as:
                return coded_as[code]
        raw = values.get(source)
        if raw is None or raw == "" or raw == []:
            return None
        return convert(raw, randomised)

    return read


def _indicator(choice: str):
    def convert(raw, randomised):
        return int(choice in raw) if isinstance(raw, list) else int(_text(raw) == choice)

    return convert


def days_from(raw: Any, randomised: date | None) -> int | None:
    if randomised is None:
        return None
    return _not_a_code((date.fromisoformat(str(raw)) - randomised).days)


def _not_a_code(number):
    if MISSING_RANGE[0] <= number <= MISSING_RANGE[1]:
        raise ValueError(f"{number} is in the missing-data codes' range: it cannot be exported")
    return number


def family_variables(
    *,
    legal_statuses: dict[str, str],
    age_bands: list[tuple[str, str]],
    withdrawal_levels: list[tuple[str, str]],
    arms: dict[str, str] | None,
    dates: str,
) -> list[Variable]:
    """One row per family: how it entered the trial and left it. `arms` only for an
    unblinded export."""
    day_kind: Kind = "days" if dates == "days_from_randomisation" else "date"
    day_unit = "days from randomisation" if day_kind == "days" else ""

    def coded(pairs) -> tuple[tuple[int, str, str], ...]:
        return tuple((n, key, label) for n, (key, label) in enumerate(pairs, start=1))

    found = [
        Variable("randomised", "Randomised", "yes_no", "families", "randomised", YES_NO),
        Variable(
            "enrolled",
            "Enrolled (consent recorded)",
            day_kind,
            "families",
            "enrolled",
            unit=day_unit,
        ),
        Variable(
            "legal_status",
            "Legal status used for randomisation (at enrolment if not randomised)",
            "coded",
            "families",
            "legal_status",
            coded(legal_statuses.items()),
        ),
        Variable(
            "age_band",
            "Child's age band at referral (a stratification factor)",
            "coded",
            "families",
            "age_band",
            coded(age_bands),
        ),
        Variable(
            "withdrawal",
            "Withdrawal: the widest level recorded",
            "coded",
            "families",
            "withdrawal",
            coded(withdrawal_levels),
        ),
        Variable(
            "withdrawal_date",
            "Date of that withdrawal",
            day_kind,
            "families",
            "withdrawal_date",
            unit=day_unit,
        ),
    ]
    if day_kind == "date":
        found.insert(
            1,
            Variable("randomised_on", "Date of randomisation", "date", "families", "randomised_on"),
        )
    if arms is not None:
        found.insert(
            1, Variable("arm", "Allocated arm", "coded", "families", "arm", coded(arms.items()))
        )
    return found
