"""Form specs and response checking: every field type, condition, cross-field check and
missing-data code. Pure: no database."""

from datetime import date

import pytest

from crf.spec import SpecError, parse_spec
from crf.validation import check

SPEC = {
    "form": "example",
    "version": 1,
    "title": "Every field type",
    "fields": [
        {
            "key": "visits",
            "type": "integer",
            "label": "Visits",
            "min": 0,
            "max": 50,
            "required": True,
            "missing_codes": ["unknown"],
        },
        {
            "key": "weight",
            "type": "decimal",
            "label": "Weight",
            "min": 0.5,
            "max": 30,
            "decimals": 2,
            "units": "kg",
        },
        {"key": "notes", "type": "text", "label": "Notes", "max_length": 10},
        {"key": "seen_on", "type": "date", "label": "Seen on", "not_before_child_birth": True},
        {"key": "referred_on", "type": "date", "label": "Referred on"},
        {
            "key": "placement",
            "type": "single",
            "label": "Placement",
            "choices": [{"value": "home", "label": "At home"}, "foster", "kinship"],
        },
        {
            "key": "services",
            "type": "multiple",
            "label": "Services",
            "choices": ["mbt", "vig", "trauma"],
        },
        {
            "key": "living_with_parent",
            "type": "yes_no",
            "label": "Living with a parent",
            "required": True,
            "missing_codes": ["declined", "not_applicable"],
        },
        {
            "key": "carer",
            "type": "text",
            "label": "Who cares for the child",
            "show_if": {"field": "living_with_parent", "equals": False},
            "required": True,
        },
        {
            "key": "mood",
            "type": "grid",
            "label": "Mood",
            "items": 3,
            "min": 1,
            "max": 5,
            "required": True,
            "missing_codes": ["declined"],
        },
    ],
    "checks": [
        {
            "rule": "not_before",
            "field": "seen_on",
            "other": "referred_on",
            "message": "The visit cannot come before the referral.",
        }
    ],
}
GOOD = {
    "visits": "3",
    "weight": "7.25",
    "notes": "fine",
    "seen_on": "2026-05-02",
    "referred_on": "2026-04-01",
    "placement": "home",
    "services": ["vig", "mbt"],
    "living_with_parent": "yes",
    "mood_1": 1,
    "mood_2": "5",
    "mood_3": 3,
}


@pytest.fixture
def spec():
    return parse_spec(SPEC, "example.yaml")


def test_a_complete_response_is_coerced_to_its_types(spec):
    result = check(spec, GOOD, child_born=date(2026, 1, 1))
    assert result.complete, (result.errors, result.incomplete)
    assert result.values["visits"] == 3 and result.values["weight"] == "7.25"
    assert result.values["services"] == ["mbt", "vig"] and result.values["living_with_parent"]
    assert result.values["mood_2"] == 5


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("visits", "three", "whole number"),
        ("visits", "51", "at most 50"),
        ("visits", True, "whole number"),
        ("weight", "heavy", "must be a number"),
        ("weight", "7.255", "at most 2 decimal places"),
        ("weight", "0.1", "at least 0.5"),
        ("notes", "far too long for this", "at most 10 characters"),
        ("seen_on", "02/05/2026", "must be a date"),
        ("seen_on", "2025-12-31", "before the child's date of birth"),
        ("placement", "hospital", "not one of the choices"),
        ("services", ["mbt", "chess"], "not one of the choices"),
        ("living_with_parent", "maybe", "yes or no"),
        ("mood_2", 6, "at most 5"),
        ("nonsense", 1, "not a field"),
    ],
)
def test_bad_values_are_refused_naming_the_field(spec, field, value, message):
    result = check(spec, {**GOOD, field: value}, child_born=date(2026, 1, 1))
    assert message in result.errors[field] and not result.complete


def test_a_blank_required_field_keeps_the_response_a_draft(spec):
    result = check(spec, {k: v for k, v in GOOD.items() if k != "visits"})
    assert not result.errors and result.incomplete == ["visits"] and not result.complete


def test_a_missing_code_is_not_blank(spec):
    result = check(
        spec, {**GOOD, "visits": {"missing": "unknown"}, "mood_1": {"missing": "declined"}}
    )
    assert result.complete and result.missing == {"visits": "unknown", "mood_1": "declined"}
    assert "visits" not in result.values


def test_a_missing_code_the_field_does_not_accept_is_refused(spec):
    result = check(spec, {**GOOD, "visits": {"missing": "declined"}})
    assert "missing-data code" in result.errors["visits"]
    result = check(spec, {**GOOD, "visits": {"missing": "forgot"}})
    assert "missing-data code" in result.errors["visits"]


def test_a_condition_asks_a_field_only_when_it_applies(spec):
    result = check(spec, {**GOOD, "living_with_parent": "no"})
    assert result.incomplete == ["carer"]
    assert check(spec, {**GOOD, "living_with_parent": "no", "carer": "aunt"}).complete
    refused = check(spec, {**GOOD, "carer": "aunt"})
    assert "asked only when living_with_parent" in refused.errors["carer"]


def test_a_cross_field_check_names_its_field(spec):
    result = check(spec, {**GOOD, "seen_on": "2026-03-01"})
    assert result.errors == {"seen_on": "The visit cannot come before the referral."}


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (
            lambda s: s["fields"][0].update(type="slider"),
            "fields.visits.type",
            "unknown field type",
        ),
        (lambda s: s["fields"][5].pop("choices"), "fields.placement.choices", "needs choices"),
        (lambda s: s["fields"][9].pop("items"), "fields.mood.items", "number of items"),
        (
            lambda s: s["fields"][0].update(missing_codes=["forgot"]),
            "fields.visits.missing_codes",
            "unknown missing code",
        ),
        (
            lambda s: s["fields"][8]["show_if"].update(field="nope"),
            "fields.carer.show_if",
            "names no field",
        ),
        (lambda s: s["checks"][0].update(rule="roughly"), "checks[0].rule", "must be one of"),
        (lambda s: s.update(colour="red"), "colour", "unknown key"),
        (lambda s: s["fields"][0].update(min=10, max=1), "fields.visits.min", "above max"),
    ],
)
def test_a_bad_spec_is_refused_naming_file_and_field(change, where, problem):
    import copy

    spec = copy.deepcopy(SPEC)
    change(spec)
    with pytest.raises(SpecError) as error:
        parse_spec(spec, "crf/forms/example-v1.yaml")
    assert error.value.where == where and problem in error.value.problem
    assert "crf/forms/example-v1.yaml" in str(error.value)


# Any JSON a client can send, in any field of a shipped form: the check answers with errors
# (or accepts), and never raises. What the API and pages rely on for "never a 500".
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_json_in_any_field_is_answered_not_raised(data):
    from pathlib import Path

    from crf.spec import read_spec
    from crf.validation import check

    forms = sorted((Path(__file__).resolve().parents[2] / "crf" / "forms").glob("*.yaml"))
    spec = read_spec(data.draw(st.sampled_from(forms)))
    keys = [key for key, _ in spec.slots()]
    raw = data.draw(st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), JSON, max_size=6))
    result = check(spec, raw)
    assert set(result.errors) | set(result.values) | set(result.missing) <= set(raw) | set(keys)
