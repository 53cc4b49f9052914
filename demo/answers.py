"""Plausible complete answers for any form spec: for the demo data, the benchmark and the
tests that need a form filled in. Values are drawn within each field's range and choices,
conditions are followed, and every date is the visit's date (which satisfies the shipped
cross-field checks, all of which allow equal dates)."""

import random
from datetime import date
from typing import Any

from crf.spec import FormSpec
from crf.validation import _shown


def answers_for(
    spec: FormSpec,
    on: date,
    rng: random.Random | None = None,
    fixed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`fixed` sets chosen answers (a field or a grid item) as the form is filled, so that
    the conditions that follow from them are followed too."""
    rng = rng or random.Random(0)  # noqa: S311 (demonstration values, not secrets)
    fixed = fixed or {}
    values: dict[str, Any] = {}
    for f in spec.fields:
        if not _shown(f, values):
            continue
        if f.key in fixed:
            values[f.key] = fixed[f.key]
            continue
        low = int(f.minimum) if f.minimum is not None else 0
        high = int(f.maximum) if f.maximum is not None else low + 10
        if f.type == "grid":
            for key in f.item_keys():
                values[key] = fixed.get(key, rng.randint(low, high))
        elif f.type == "integer":
            values[f.key] = rng.randint(low, min(high, low + 20))
        elif f.type == "decimal":
            values[f.key] = str(rng.randint(low, high))
        elif f.type == "date":
            values[f.key] = on.isoformat()
        elif f.type == "single":
            values[f.key] = rng.choice(f.choices)[0]
        elif f.type == "multiple":
            values[f.key] = [rng.choice(f.choices)[0]]
        elif f.type == "yes_no":
            values[f.key] = rng.random() < 0.5
        else:
            values[f.key] = "Entered for the demonstration."[: f.max_length or 200]
    return values
