"""The export's variables and values, as properties: a code always leads back to its choice
and label, a missing-data code never stands for a real value, names fit Stata, and the
prepared encoder gives what `value` gives."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crf.spec import MISSING_CODES, parse_spec
from dataset.export.variables import (
    MAX_NAME,
    MISSING,
    MISSING_RANGE,
    NOT_DONE,
    Answers,
    _ranges,
    encoder,
    form_variables,
    not_done_values,
    short_name,
    value,
)

keys = st.from_regex(r"[a-z][a-z0-9_]{0,60}", fullmatch=True)
choice_values = st.lists(
    st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), min_size=1, max_size=8, unique=True
)


def spec_of(fields, scoring=()):
    return parse_spec({"form": "f", "version": 1, "fields": fields, "scoring": list(scoring)})


@given(keys)
def test_a_name_fits_stata_and_a_short_key_is_its_own_name(key):
    name = short_name(key)
    assert len(name) <= MAX_NAME
    assert name == key if len(key) <= MAX_NAME else name.startswith(key[:27])


@given(st.lists(keys, min_size=2, max_size=20, unique=True))
def test_distinct_keys_have_distinct_names(found):
    assert len({short_name(k) for k in found}) == len(found)


@given(choice_values, st.data())
def test_a_single_choice_code_leads_back_to_its_value_and_label(values, data):
    spec = spec_of(
        [
            {
                "key": "pick",
                "type": "single",
                "label": "Pick",
                "choices": [{"value": v, "label": v.upper()} for v in values],
            }
        ]
    )
    (variable,) = form_variables([spec], dates="days_from_randomisation")
    chosen = data.draw(st.sampled_from(values))
    code = value(variable, Answers(values={"pick": chosen}), None)
    assert isinstance(code, int) and 1 <= code <= len(values)
    assert [(s, label) for c, s, label in variable.codes if c == code] == [(chosen, chosen.upper())]


@given(choice_values, st.data())
def test_a_multiple_choice_is_one_indicator_per_choice(values, data):
    spec = spec_of([{"key": "many", "type": "multiple", "label": "Many", "choices": values}])
    variables = form_variables([spec], dates="days_from_randomisation")
    chosen = data.draw(st.lists(st.sampled_from(values), unique=True))
    got = {v.choice: value(v, Answers(values={"many": sorted(chosen)}), None) for v in variables}
    # Nothing chosen is a blank answer, as the form stores it.
    assert got == {v: (int(v in chosen) if chosen else None) for v in values}


@given(st.integers(min_value=-200_000, max_value=200_000))
def test_a_missing_code_never_stands_for_a_real_value(number):
    spec = spec_of([{"key": "n", "type": "integer", "label": "N", "missing_codes": ["unknown"]}])
    (variable,) = form_variables([spec], dates="days_from_randomisation")
    if MISSING_RANGE[0] <= number <= MISSING_RANGE[1]:
        with pytest.raises(ValueError, match="missing-data codes"):
            value(variable, Answers(values={"n": number}), None)
    else:
        assert value(variable, Answers(values={"n": number}), None) == number
    coded = value(variable, Answers(values={}, missing={"n": "unknown"}), None)
    assert coded == MISSING["unknown"].code and MISSING_RANGE[0] <= coded <= MISSING_RANGE[1]


@given(st.dates(min_value=date(2000, 1, 1)), st.integers(min_value=-3000, max_value=3000))
def test_a_date_is_its_days_from_randomisation(randomised, days):
    spec = spec_of([{"key": "on", "type": "date", "label": "On"}])
    (variable,) = form_variables([spec], dates="days_from_randomisation")
    on = randomised + timedelta(days=days)
    assert value(variable, Answers(values={"on": on.isoformat()}), randomised) == days
    assert value(variable, Answers(values={"on": on.isoformat()}), None) is None
    (as_entered,) = form_variables([spec], dates="as_entered")
    assert value(as_entered, Answers(values={"on": on.isoformat()}), None) == on.isoformat()


answers = st.fixed_dictionaries(
    {},
    optional={
        "n": st.integers(0, 50),
        "d": st.decimals(0, 10, places=1).map(str),
        "t": st.text(max_size=20),
        "y": st.booleans(),
        "s": st.sampled_from(["a", "b"]),
        "m": st.lists(st.sampled_from(["x", "y", "z"]), unique=True).map(sorted),
        "g_1": st.integers(1, 4),
        "g_2": st.integers(1, 4),
    },
)
FIELDS = [
    {"key": "n", "type": "integer", "label": "N", "missing_codes": ["declined", "unknown"]},
    {"key": "d", "type": "decimal", "label": "D"},
    {"key": "t", "type": "text", "label": "T"},
    {"key": "y", "type": "yes_no", "label": "Y"},
    {"key": "s", "type": "single", "label": "S", "choices": ["a", "b"]},
    {"key": "m", "type": "multiple", "label": "M", "choices": ["x", "y", "z"]},
    {"key": "g", "type": "grid", "label": "G", "items": 2, "min": 1, "max": 4},
]


@given(answers, st.sampled_from([{}, {"n": "declined"}, {"n": "unknown"}]))
def test_the_prepared_encoder_gives_what_value_gives(values, missing):
    spec = spec_of(FIELDS, [{"key": "total", "method": "sum", "grid": "g"}])
    variables = form_variables([spec], dates="days_from_randomisation")
    values = {k: v for k, v in values.items() if k not in missing}
    scores = {"total": {"value": "5.00"}}
    got = encoder(variables)(values, missing, scores, None)
    assert got == [value(v, Answers(values, missing, scores), None) for v in variables]
    assert got[-1] == 5.0
    assert all(x == MISSING[NOT_DONE].code or x is None for x in not_done_values(variables))


def test_every_spec_missing_code_has_an_export_code():
    assert set(MISSING_CODES) | {NOT_DONE} == set(MISSING)
    assert len({m.code for m in MISSING.values()}) == len({m.stata for m in MISSING.values()})


@given(st.sets(st.integers(1, 60), min_size=1))
def test_an_item_range_lists_exactly_its_items(items):
    listed = set()
    for part in _ranges(sorted(items)).split(", "):
        low, _, high = part.partition("-")
        listed |= set(range(int(low), int(high or low) + 1))
    assert listed == items
