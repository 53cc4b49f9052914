from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from trial.definition import DefinitionError, read_definition

SHIPPED = Path(__file__).resolve().parents[2] / "trial" / "definitions" / "reconnect.yaml"


def write(tmp_path, data) -> Path:
    path = tmp_path / "def.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def good() -> dict:
    return yaml.safe_load(SHIPPED.read_text())


def test_the_shipped_definition_is_valid():
    data, digest = read_definition(SHIPPED)
    assert data["trial"]["code"] == "RC" and len(digest) == 64


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (lambda d: d.pop("trial"), "trial", "required section is missing"),
        (lambda d: d.update(arms_typo={}), "arms_typo", "unknown section"),
        (lambda d: d["trial"].pop("sponsor"), "trial.sponsor", "required key is missing"),
        (lambda d: d["trial"].update(colour="red"), "trial.colour", "unknown key"),
        (lambda d: d["trial"].update(code="rc"), "trial.code", "capital letters"),
        (lambda d: d["trial"].update(name=42), "trial.name", "non-empty str"),
        (lambda d: d["trial"].update(name="  "), "trial.name", "non-empty str"),
        (
            lambda d: d["monitoring"]["source_verification"]["key_forms"].append("core11"),
            "monitoring.source_verification.key_forms[4]",
            "'core11' is not a form of the schedule",
        ),
        (
            lambda d: d["monitoring"]["source_verification"].update(percent=120),
            "monitoring.source_verification.percent",
            "100",
        ),
        (
            lambda d: d["analysis"]["populations"][0]["forms"].append("outcome"),
            "analysis.populations[0].forms[2]",
            "'outcome' is not a form of the schedule",
        ),
        (
            lambda d: d["monitoring"]["safety"].update(form="adverse"),
            "monitoring.safety.form",
            "'adverse' is not a form of the schedule",
        ),
        (
            lambda d: d["analysis"].update(dates="as_typed"),
            "analysis.dates",
            "days_from_randomisation",
        ),
    ],
)
def test_errors_name_the_file_the_key_and_the_problem(tmp_path, change, key, problem):
    data = good()
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(DefinitionError) as error:
        read_definition(path)
    assert error.value.key == key and problem in error.value.problem
    assert str(path) in str(error.value)


def test_a_file_that_is_not_yaml_is_named(tmp_path):
    with pytest.raises(DefinitionError, match="not valid YAML"):
        read_definition(write(tmp_path, "trial: [unclosed"))


def test_trial_load_reports_definition_errors_as_a_command_error(world, tmp_path):
    data = good()
    data["trial"]["colour"] = "red"
    with pytest.raises(CommandError, match=r"trial\.colour: unknown key"):
        call_command("trial_load", str(write(tmp_path, data)), "--as", "manager")


def test_only_the_trials_manager_may_reload_it(world):
    with pytest.raises(CommandError, match="Only a trial manager"):
        call_command("trial_load", str(SHIPPED), "--as", "coord.buc")
