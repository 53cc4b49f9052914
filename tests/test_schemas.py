"""The published JSON Schemas (docs/schemas/) are the typed models' own, and check every
shipped definition and form spec, so a trial designer's editor can check a file as it is
written."""

import json
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "docs" / "schemas"
DEFINITIONS = sorted((ROOT / "trial" / "definitions").glob("*.yaml"))
FORMS = sorted((ROOT / "crf" / "forms").glob("*.yaml"))


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_the_published_schemas_are_made_from_the_models():
    call_command("schemas_publish", "--check")


@pytest.mark.parametrize("path", DEFINITIONS, ids=[p.name for p in DEFINITIONS])
def test_every_shipped_definition_meets_the_published_schema(path):
    errors = list(
        validator("trial-definition.schema.json").iter_errors(yaml.safe_load(path.read_text()))
    )
    assert errors == []


@pytest.mark.parametrize("path", FORMS, ids=[p.name for p in FORMS])
def test_every_shipped_form_spec_meets_the_published_schema(path):
    errors = list(validator("form-spec.schema.json").iter_errors(yaml.safe_load(path.read_text())))
    assert errors == []


def test_an_editor_is_told_of_an_unknown_key_where_it_is():
    data = yaml.safe_load(DEFINITIONS[0].read_text())
    data["schedule"]["visits"][1]["colour"] = "red"
    error = best_match(validator("trial-definition.schema.json").iter_errors(data))
    assert list(error.absolute_path) == ["schedule", "visits", 1]
    assert "colour" in error.message


def test_a_field_of_an_unknown_type_fails_the_schema_and_the_loader_alike(tmp_path):
    from crf.spec import SpecError, read_spec

    data = yaml.safe_load(FORMS[0].read_text())
    data["fields"][0]["type"] = "slider"
    assert list(validator("form-spec.schema.json").iter_errors(data))
    path = tmp_path / "broken-v1.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError) as refused:
        read_spec(path)
    key = data["fields"][0]["key"]
    assert refused.value.where == f"fields.{key}.type"
    assert "unknown field type 'slider'" in refused.value.problem
    assert str(path) in str(refused.value)
