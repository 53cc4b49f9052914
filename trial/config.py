"""The loaded definition of a trial, as typed values. Code reads these, never a constant
that belongs to one trial."""

from dataclasses import dataclass, field

import yaml

from core.errors import TrialError

from .eligibility import AgeBand, Criterion, EligibilityRules
from .schedule import Schedule, parse_schedule


@dataclass(frozen=True)
class ConsentItem:
    key: str
    label: str
    required: bool = False
    gates: str = ""


@dataclass(frozen=True)
class WithdrawalLevel:
    key: str
    label: str
    stops: frozenset[str]


@dataclass(frozen=True)
class RandomisationConfig:
    arms: dict[str, str]
    ratio: tuple[int, ...]
    method: str
    block_sizes: tuple[int, ...]
    factors: tuple[str, ...]
    expected_frequencies: dict[str, dict[str, float]]
    p: float = 0.8
    imbalance: str = "range"
    weights: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialConfig:
    referrers: dict[str, str]
    eligibility: EligibilityRules
    decline_reasons: dict[str, str]
    other_reasons: dict[str, str]
    legal_statuses: dict[str, str]
    age_bands: tuple[AgeBand, ...]
    data_sources: dict[str, str]
    consent_items: tuple[ConsentItem, ...]
    withdrawal_levels: tuple[WithdrawalLevel, ...]
    randomisation: RandomisationConfig | None = None
    schedule: Schedule | None = None

    def consent_item(self, key: str) -> ConsentItem | None:
        return next((i for i in self.consent_items if i.key == key), None)

    def withdrawal_level(self, key: str) -> WithdrawalLevel | None:
        return next((w for w in self.withdrawal_levels if w.key == key), None)


NEEDED = (
    "referrers",
    "eligibility",
    "decline_reasons",
    "other_reasons",
    "legal_statuses",
    "age_bands",
    "data_sources",
    "consent_items",
    "withdrawal_levels",
)


_parsed: dict[tuple[str, str], TrialConfig] = {}


def config_of(trial) -> TrialConfig:
    """The trial's configuration, parsed once per definition digest."""
    key = (trial.code, trial.definition_sha256)
    if key not in _parsed:
        data = (
            yaml.safe_load(trial.definition_source) if trial.definition_source else trial.definition
        )
        _parsed[key] = _parse(trial.code, data)
    return _parsed[key]


def _parse(code: str, data: dict) -> TrialConfig:
    missing = [name for name in NEEDED if name not in data]
    if missing:
        raise TrialError(
            f"Trial {code}'s definition has no {', '.join(missing)} section; "
            "reload it with trial_load."
        )
    rules = data["eligibility"]
    return TrialConfig(
        referrers=dict(data["referrers"]),
        eligibility=EligibilityRules(
            max_age_months=rules["max_age_months"],
            min_gestation_weeks=rules["min_gestation_weeks"],
            criteria=tuple(Criterion(c["key"], c["kind"], c["text"]) for c in rules["criteria"]),
        ),
        decline_reasons=dict(data["decline_reasons"]),
        other_reasons=dict(data["other_reasons"]),
        legal_statuses=dict(data["legal_statuses"]),
        age_bands=tuple(
            AgeBand(b["key"], b["label"], b["below_months"], b.get("includes_unborn", False))
            for b in data["age_bands"]
        ),
        data_sources=dict(data["data_sources"]),
        consent_items=tuple(
            ConsentItem(i["key"], i["label"], i.get("required", False), i.get("gates", ""))
            for i in data["consent_items"]
        ),
        randomisation=_randomisation(data.get("randomisation")),
        schedule=parse_schedule(data.get("schedule")),
        withdrawal_levels=tuple(
            WithdrawalLevel(w["key"], w["label"], frozenset(w["stops"]))
            for w in data["withdrawal_levels"]
        ),
    )


def _randomisation(body: dict | None) -> RandomisationConfig | None:
    if not body:
        return None
    minimisation = body.get("minimisation") or {}
    return RandomisationConfig(
        arms=dict(body["arms"]),
        ratio=tuple(body["ratio"]),
        method=body["method"],
        block_sizes=tuple(body["block_sizes"]),
        factors=tuple(body["factors"]),
        expected_frequencies={
            k: dict(v) for k, v in (body.get("expected_frequencies") or {}).items()
        },
        p=float(minimisation.get("p", 0.8)),
        imbalance=minimisation.get("imbalance", "range"),
        weights={k: float(v) for k, v in (minimisation.get("weights") or {}).items()},
    )
