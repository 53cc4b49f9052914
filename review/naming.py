"""How the audit trail words an event: the record it is about as the people who work with it
name it ("Response: CORE-10, 6 months, RC-BUC-0009-L"), each changed field by its question
or its label, and each code by its word. No queries here: the records, and the words of the
trial and of the forms, are loaded once for a page of events (review.subjects)."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst

from core.roles import Role
from crf.spec import MISSING_CODES, FormField, FormSpec
from trial.config import words_of
from trial.schema import TrialDefinition

# A kind of code's words: code -> label.
Codes = Mapping[str, str]
NOTHING = "none"
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ROLE_LABELS: Codes = dict(Role.choices)


def humanised(key: str) -> str:
    """A key with no label of its own, as words: `verified_through` -> "Verified through"."""
    return capfirst(key.replace("_", " ").replace("sha256", "SHA-256").strip())


def worded(value: Any, codes: Codes | None = None) -> str | None:
    """A recorded value as text: codes as their words, yes/no for booleans, lists and
    mappings item by item. None stays None (shown as a dash)."""
    codes = {} if codes is None else codes
    if value is None:
        return None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(worded(v, codes) or "—" for v in value) or NOTHING
    if isinstance(value, dict):
        return (
            "; ".join(
                f"{codes.get(str(k)) or humanised(str(k))}: {worded(v) or '—'}"
                for k, v in value.items()
            )
            or NOTHING
        )
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        day = date.fromisoformat(value)
        return f"{day.day} {day:%b %Y}"
    return codes.get(str(value), str(value))


def slot_field(spec: FormSpec, key: str) -> FormField | None:
    """The field a form's answer key belongs to (a grid's, for one of its items)."""
    return next((f for slot, f in spec.slots() if slot == key), None)


def slot_label(spec: FormSpec, key: str) -> str | None:
    """A form's answer key as its question: the field's label, or a grid item's label."""
    f = slot_field(spec, key)
    return f.slot_label(key) if f else None


def slot_labels(spec: FormSpec) -> dict[str, str]:
    return {key: slot_label(spec, key) or key for key, _ in spec.slots()}


def roles_worded(recorded: str) -> str:
    """The actor's role as recorded (one key, or several joined by commas), in words."""
    return ", ".join(ROLE_LABELS.get(r, humanised(r)) for r in recorded.split(",") if r)


@dataclass(frozen=True)
class TrialWords:
    """A trial definition's words for the codes its records hold, by kind."""

    referrers: Codes = field(default_factory=dict)
    legal_statuses: Codes = field(default_factory=dict)
    age_bands: Codes = field(default_factory=dict)
    reasons: Codes = field(default_factory=dict)
    criteria: Codes = field(default_factory=dict)
    arms: Codes = field(default_factory=dict)
    consent_items: Codes = field(default_factory=dict)
    withdrawal_levels: Codes = field(default_factory=dict)
    visits: Codes = field(default_factory=dict)
    populations: Codes = field(default_factory=dict)

    @classmethod
    def of(cls, config: TrialDefinition) -> "TrialWords":
        words = words_of(config)
        return cls(
            referrers=words["referrers"],
            legal_statuses=words["legal_statuses"],
            age_bands=words["age_bands"],
            reasons=words["reasons"],
            criteria=words["criteria"],
            arms=dict(config.randomisation.arms) if config.randomisation else {},
            consent_items={i.key: i.label for i in config.consent_items or []},
            withdrawal_levels={w.key: w.label for w in config.withdrawal_levels or []},
            visits={v.key: v.label for v in config.schedule.visits} if config.schedule else {},
            populations={p.key: p.label for p in config.analysis.populations},
        )

    @property
    def levels(self) -> Codes:
        """The levels a stratification factor takes (a site's is its code)."""
        return {**self.legal_statuses, **self.age_bands}

    def visit(self, key: str, number: int = 1) -> str:
        """A visit's label; an any-time form's response by its number."""
        return self.visits.get(key, key) if key else f"#{number}"

    def stratum(self, key: str) -> str:
        """A stratum key (`site=BUC|legal_status=cp_plan`) in words."""
        parts = [p.partition("=") for p in key.split("|") if p]
        return "; ".join(f"{humanised(f)}: {self.levels.get(v, v)}" for f, _, v in parts)


@dataclass(frozen=True)
class Change:
    key: str  # as recorded: `values.item_1`
    label: str  # as asked: "CORE-10 item 1"
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Words:
    """How one record's changes read: its fields' labels (the model's verbose names, or
    the form's questions for `values.*` and `missing.*`) and the words of the codes each
    field holds (given, or the model field's choices)."""

    model: type[models.Model] | None = None
    spec: FormSpec | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    codes: Mapping[str, Codes] = field(default_factory=dict)

    def label(self, key: str) -> str:
        kind, dot, slot = key.partition(".")
        if dot and kind in ("values", "missing"):
            asked = (self.spec and slot_label(self.spec, slot)) or humanised(slot)
            return asked if kind == "values" else f"{asked} (why not answered)"
        if key in self.labels:
            return self.labels[key]
        model_field = self._field(key)
        if model_field is not None and getattr(model_field, "verbose_name", None):
            return humanised(str(model_field.verbose_name))
        return humanised(key)

    def value(self, key: str, value: Any) -> str | None:
        kind, dot, slot = key.partition(".")
        if dot and kind == "missing":
            return worded(value, MISSING_CODES)
        if dot and kind == "values":
            return self._answer(slot, value)
        if key in self.codes:
            return worded(value, self.codes[key])
        model_field = self._field(key)
        choices = getattr(model_field, "flatchoices", None) or []
        return worded(value, {str(k): str(v) for k, v in choices})

    def changes(self, recorded: Mapping[str, Any]) -> tuple[Change, ...]:
        """{field: [old, new]} as changes: the record's own fields by name, then a form's
        answers in the order the form asks them."""
        order = {slot: n for n, (slot, _) in enumerate(self.spec.slots())} if self.spec else {}

        def place(key: str) -> tuple[int, int, str]:
            kind, dot, slot = key.partition(".")
            if dot and kind in ("values", "missing"):
                return (1, order.get(slot, len(order)), key)
            return (0, 0, key)

        rows = []
        for key, pair in sorted((recorded or {}).items(), key=lambda item: place(item[0])):
            old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
            rows.append(Change(key, self.label(key), self.value(key, old), self.value(key, new)))
        return tuple(rows)

    def _answer(self, slot: str, value: Any) -> str | None:
        if isinstance(value, dict) and "missing" in value:
            return f"Not answered: {MISSING_CODES.get(value['missing'], value['missing'])}"
        f = slot_field(self.spec, slot) if self.spec else None
        return worded(value, dict(f.choices) if f is not None else None)

    def _field(self, key: str):
        if self.model is None:
            return None
        try:
            return self.model._meta.get_field(key)
        except FieldDoesNotExist:
            return None


@dataclass(frozen=True)
class Described:
    """An event as the trail shows it."""

    subject: str  # "Response: CORE-10, 6 months, RC-BUC-0009-L"; "" for an event of no record
    ref: str  # the record as the ledger holds it: "crf.Response 298"
    actor: str  # the person's full name, or the username as recorded
    role: str  # "Trial manager"
    changes: tuple[Change, ...]

    @property
    def changes_text(self) -> str:
        return "; ".join(f"{c.label}: {c.old or '—'} → {c.new or '—'}" for c in self.changes)
