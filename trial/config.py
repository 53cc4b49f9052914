"""The loaded definition of a trial, as its typed schema. Code reads this, never a
constant that belongs to one trial, and never the raw file."""

import yaml

from core.errors import TrialError

from .definition import validated
from .eligibility import CHILD_AGE, CHILD_AGE_TEXT
from .schema import TrialDefinition

# Code that reads a trial's configuration names its type so.
TrialConfig = TrialDefinition

_parsed: dict[tuple[str, str], TrialDefinition] = {}


def config_of(trial) -> TrialDefinition:
    """The trial's definition, validated once per definition digest; refused, naming them,
    when sections the running system reads are missing."""
    key = (trial.code, trial.definition_sha256)
    if key not in _parsed:
        data = (
            yaml.safe_load(trial.definition_source) if trial.definition_source else trial.definition
        )
        config = validated(data, f"trial {trial.code}")
        missing = config.missing_for_running()
        if missing:
            raise TrialError(
                f"Trial {trial.code}'s definition has no {', '.join(missing)} section; "
                "reload it with trial_load."
            )
        _parsed[key] = config
    return _parsed[key]


def words_of(config: TrialDefinition) -> dict[str, dict[str, str]]:
    """The trial definition's labels for the codes pages show, by kind."""
    return {
        "referrers": dict(config.referrers or {}),
        "legal_statuses": dict(config.legal_statuses or {}),
        "age_bands": {b.key: b.label for b in config.age_bands or []},
        "reasons": {**(config.decline_reasons or {}), **(config.other_reasons or {})},
        "criteria": {CHILD_AGE: CHILD_AGE_TEXT}
        | {c.key: c.text for c in config.eligibility.criteria}
        if config.eligibility
        else {},
        "visits": {v.key: v.label for v in config.schedule.visits} if config.schedule else {},
        "withdrawal_levels": {w.key: w.label for w in config.withdrawal_levels or []},
    }
