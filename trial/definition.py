"""Reads and checks a trial definition file. Errors name the file, the key and the problem."""

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


class DefinitionError(Exception):
    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path, self.key, self.problem = str(path), key, problem


KEY = re.compile(r"[a-z0-9][a-z0-9_]*")


class _Checker:
    def __init__(self, path: Path | str) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> None:
        raise DefinitionError(self.path, key, problem)

    def mapping(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict) or not value:
            self.fail(key, "must be a non-empty mapping")
        return value

    def listing(self, value: Any, key: str) -> list:
        if not isinstance(value, list) or not value:
            self.fail(key, "must be a non-empty list")
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "must be a non-empty str")
        return value

    def whole(self, value: Any, key: str, low: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.fail(key, f"must be a whole number, {low} or more")
        return value

    def code(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not KEY.fullmatch(value):
            self.fail(key, "must be a key of lower-case letters, digits and underscores")
        return value

    def fields(
        self, body: dict, key: str, required: set[str], optional: set[str] = frozenset()
    ) -> None:
        for name in body:
            if name not in required | optional:
                self.fail(f"{key}.{name}", "unknown key")
        for name in sorted(required - set(body)):
            self.fail(f"{key}.{name}", "required key is missing")

    def labels(self, value: Any, key: str) -> dict[str, str]:
        """A mapping of keys to labels."""
        for name, label in self.mapping(value, key).items():
            self.code(name, f"{key}.{name}")
            self.text(label, f"{key}.{name}")
        return value

    def keyed_list(
        self,
        value: Any,
        key: str,
        required: set[str],
        optional: set[str],
        each: Callable[[dict, str], None],
    ) -> list[dict]:
        seen = set()
        for i, item in enumerate(self.listing(value, key)):
            where = f"{key}[{i}]"
            item = self.mapping(item, where)
            self.fields(item, where, required | {"key"}, optional)
            name = self.code(item["key"], f"{where}.key")
            if name in seen:
                self.fail(f"{where}.key", f"'{name}' appears twice")
            seen.add(name)
            each(item, where)
        return value


def _trial(c: _Checker, body: Any, data: dict) -> None:
    c.mapping(body, "trial")
    c.fields(body, "trial", {"code", "short_name", "name", "sponsor"})
    for name in ("short_name", "name", "sponsor", "code"):
        c.text(body[name], f"trial.{name}")
    if not re.fullmatch(r"[A-Z]{2,6}", body["code"]):
        c.fail("trial.code", "must be 2 to 6 capital letters")


def _eligibility(c: _Checker, body: Any, data: dict) -> None:
    c.mapping(body, "eligibility")
    c.fields(body, "eligibility", {"max_age_months", "min_gestation_weeks", "criteria"})
    c.whole(body["max_age_months"], "eligibility.max_age_months", 1)
    c.whole(body["min_gestation_weeks"], "eligibility.min_gestation_weeks", 1)

    def criterion(item: dict, where: str) -> None:
        if item["kind"] not in ("inclusion", "exclusion"):
            c.fail(f"{where}.kind", "must be inclusion or exclusion")
        c.text(item["text"], f"{where}.text")

    c.keyed_list(body["criteria"], "eligibility.criteria", {"kind", "text"}, set(), criterion)


def _age_bands(c: _Checker, body: Any, data: dict) -> None:
    def band(item: dict, where: str) -> None:
        c.text(item["label"], f"{where}.label")
        c.whole(item["below_months"], f"{where}.below_months", 1)
        if not isinstance(item.get("includes_unborn", False), bool):
            c.fail(f"{where}.includes_unborn", "must be true or false")

    c.keyed_list(body, "age_bands", {"label", "below_months"}, {"includes_unborn"}, band)


def _consent_items(c: _Checker, body: Any, data: dict) -> None:
    sources = set(data.get("data_sources") or {})

    def item(entry: dict, where: str) -> None:
        c.text(entry["label"], f"{where}.label")
        if not isinstance(entry.get("required", False), bool):
            c.fail(f"{where}.required", "must be true or false")
        if "gates" in entry and entry["gates"] not in sources:
            c.fail(f"{where}.gates", f"'{entry['gates']}' is not one of data_sources")

    c.keyed_list(body, "consent_items", {"label"}, {"required", "gates"}, item)
    if not any(entry.get("required") for entry in body):
        c.fail("consent_items", "at least one item must be required for enrolment")


def _withdrawal_levels(c: _Checker, body: Any, data: dict) -> None:
    sources = set(data.get("data_sources") or {})

    def level(item: dict, where: str) -> None:
        c.text(item["label"], f"{where}.label")
        for i, source in enumerate(c.listing(item["stops"], f"{where}.stops")):
            if source not in sources:
                c.fail(f"{where}.stops[{i}]", f"'{source}' is not one of data_sources")

    c.keyed_list(body, "withdrawal_levels", {"label", "stops"}, set(), level)


FACTOR_SOURCES = {"site", "legal_status", "age_band"}


def _randomisation(c: _Checker, body: Any, data: dict) -> None:
    key = "randomisation"
    c.mapping(body, key)
    c.fields(
        body,
        key,
        {"arms", "ratio", "method", "block_sizes", "factors"},
        {"expected_frequencies", "minimisation"},
    )
    arms = c.mapping(body["arms"], f"{key}.arms")
    for code, label in arms.items():
        if not isinstance(code, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", code):
            c.fail(f"{key}.arms.{code}", "arm codes are capital letters, digits and underscores")
        c.text(label, f"{key}.arms.{code}")
    if len(arms) < 2:
        c.fail(f"{key}.arms", "needs two or more arms")
    ratio = c.listing(body["ratio"], f"{key}.ratio")
    if len(ratio) != len(arms) or any(
        isinstance(r, bool) or not isinstance(r, int) or r < 1 for r in ratio
    ):
        c.fail(f"{key}.ratio", "needs one whole number of 1 or more per arm")
    if body["method"] not in ("blocks", "minimisation"):
        c.fail(f"{key}.method", "must be blocks or minimisation")
    total = sum(ratio)
    for i, size in enumerate(c.listing(body["block_sizes"], f"{key}.block_sizes")):
        if c.whole(size, f"{key}.block_sizes[{i}]", 1) % total:
            c.fail(f"{key}.block_sizes[{i}]", f"must be a multiple of the ratio's sum ({total})")
    for i, factor in enumerate(c.listing(body["factors"], f"{key}.factors")):
        if factor not in FACTOR_SOURCES:
            c.fail(f"{key}.factors[{i}]", f"must be one of {', '.join(sorted(FACTOR_SOURCES))}")
    known = {
        "legal_status": set(data.get("legal_statuses") or {}),
        "age_band": {b.get("key") for b in data.get("age_bands") or []},
    }
    for factor, levels in (body.get("expected_frequencies") or {}).items():
        where = f"{key}.expected_frequencies.{factor}"
        if factor not in known:
            c.fail(where, "frequencies are given for legal_status and age_band")
        c.mapping(levels, where)
        if set(levels) != known[factor]:
            c.fail(where, f"must give every level: {', '.join(sorted(known[factor]))}")
        if (
            any(not isinstance(v, int | float) or v < 0 for v in levels.values())
            or abs(sum(levels.values()) - 1) > 1e-6
        ):
            c.fail(where, "must be proportions adding up to 1")
    if "minimisation" in body:
        m = c.mapping(body["minimisation"], f"{key}.minimisation")
        c.fields(m, f"{key}.minimisation", set(), {"p", "imbalance", "weights"})
        if not isinstance(m.get("p", 0.8), int | float) or not 0.5 <= m.get("p", 0.8) <= 1:
            c.fail(f"{key}.minimisation.p", "must be between 0.5 and 1")
        if m.get("imbalance", "range") not in ("range", "variance"):
            c.fail(f"{key}.minimisation.imbalance", "must be range or variance")


def _schedule(c: _Checker, body: Any, data: dict) -> None:
    c.mapping(body, "schedule")
    c.fields(body, "schedule", {"visits"}, {"any_time"})
    days: list[int] = []

    def visit(item: dict, where: str) -> None:
        c.text(item["label"], f"{where}.label")
        if isinstance(item["day"], bool) or not isinstance(item["day"], int):
            c.fail(f"{where}.day", "must be a whole number of days from randomisation")
        c.whole(item["before"], f"{where}.before")
        c.whole(item["after"], f"{where}.after")
        for i, form in enumerate(c.listing(item["forms"], f"{where}.forms")):
            c.code(form, f"{where}.forms[{i}]")
        if len(set(item["forms"])) != len(item["forms"]):
            c.fail(f"{where}.forms", "names a form twice")
        if not isinstance(item.get("before_randomisation", False), bool):
            c.fail(f"{where}.before_randomisation", "must be true or false")
        if "randomise_within" in item:
            c.whole(item["randomise_within"], f"{where}.randomise_within", 1)
        if days and item["day"] < days[-1]:
            c.fail(f"{where}.day", "visits are listed in the order of their days")
        days.append(item["day"])

    visits = c.keyed_list(
        body["visits"],
        "schedule.visits",
        {"label", "day", "before", "after", "forms"},
        {"before_randomisation", "randomise_within"},
        visit,
    )
    if sum(1 for v in visits if v.get("before_randomisation")) > 1:
        c.fail("schedule.visits", "at most one visit comes before randomisation (baseline)")
    for i, form in enumerate(body.get("any_time") or []):
        c.code(form, f"schedule.any_time[{i}]")


def _labels(name: str) -> Callable[[_Checker, Any, dict], None]:
    return lambda c, body, data: c.labels(body, name)


# Each section's checker. Later capabilities add theirs here.
SECTIONS: dict[str, Callable[[_Checker, Any, dict], None]] = {
    "trial": _trial,
    "referrers": _labels("referrers"),
    "eligibility": _eligibility,
    "decline_reasons": _labels("decline_reasons"),
    "other_reasons": _labels("other_reasons"),
    "legal_statuses": _labels("legal_statuses"),
    "age_bands": _age_bands,
    "data_sources": _labels("data_sources"),
    "consent_items": _consent_items,
    "withdrawal_levels": _withdrawal_levels,
    "randomisation": _randomisation,
    "schedule": _schedule,
}
REQUIRED_SECTIONS = {"trial"}


def read_definition(path: Path | str) -> tuple[dict[str, Any], str]:
    """The checked definition and the SHA-256 of the file's bytes."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(path, "(file)", f"cannot be read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise DefinitionError(path, "(file)", f"is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise DefinitionError(path, "(file)", "must be a mapping of sections")
    check_definition(path, data)
    return data, hashlib.sha256(raw).hexdigest()


def check_definition(path: Path | str, data: dict[str, Any]) -> None:
    checker = _Checker(path)
    for section in sorted(REQUIRED_SECTIONS - set(data)):
        checker.fail(section, "required section is missing")
    for section, body in data.items():
        if section not in SECTIONS:
            checker.fail(section, f"unknown section (known: {', '.join(SECTIONS)})")
        SECTIONS[section](checker, body, data)
