"""The validation matrix: the pytest plugin that traces requirements to tests (its refusals and
REQUIRE_TRACEABILITY), `manage.py traceability` that writes docs/validation.md and .json, and
the page that shows it to those who inspect the trial."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = """\
requirements:
  - id: ONE-1
    title: The first requirement
    basis: [Rule 1]
  - id: TWO-1
    title: The second requirement
    basis: [Rule 2, Rule 3]
"""

# --- The plugin, run on a small suite of its own ---------------------------------------------

# This plugin only: not the project's conftest, nor pytest-django.
PYTEST = [sys.executable, "-m", "pytest", "-p", "tests.traceability", "-p", "no:django"]
PYTEST += ["-p", "no:cacheprovider"]


def run_pytest(tmp_path, tests: str, *args, require=False):
    """pytest in a folder of its own with only this plugin: (exit code, output, results)."""
    (tmp_path / "requirements.yaml").write_text(REQUIREMENTS)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    requirement(*ids): proves requirements\n"
    )
    (tmp_path / "test_small.py").write_text(textwrap.dedent(tests))
    results = tmp_path / "out" / "traceability.json"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "REQUIRE_TRACEABILITY", "PYTEST_ADDOPTS")
    }
    env |= {
        "PYTHONPATH": str(ROOT),
        "TRACEABILITY_REQUIREMENTS": str(tmp_path / "requirements.yaml"),
        "TRACEABILITY_FILE": str(results),
    }
    if require:
        env["REQUIRE_TRACEABILITY"] = "1"
    done = subprocess.run(
        [*PYTEST, "-q", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    data = json.loads(results.read_text()) if results.exists() else None
    return done.returncode, done.stdout + done.stderr, data


BOTH_PROVEN = """
    import pytest

    @pytest.mark.requirement("ONE-1")
    def test_one():
        pass

    @pytest.mark.requirement("ONE-1", "TWO-1")
    def test_both():
        pass

    @pytest.mark.requirement("TWO-1")
    def test_two_fails():
        assert False

    def test_unmarked():
        pass
"""


def test_each_marked_tests_outcome_is_written_by_requirement(tmp_path):
    code, output, results = run_pytest(tmp_path, BOTH_PROVEN)
    assert code == 1  # test_two_fails
    outcomes = {
        requirement: {n: t["outcome"] for n, t in tests.items()}
        for requirement, tests in results["requirements"].items()
    }
    assert outcomes == {
        "ONE-1": {"test_small.py::test_both": "passed", "test_small.py::test_one": "passed"},
        "TWO-1": {"test_small.py::test_both": "passed", "test_small.py::test_two_fails": "failed"},
    }
    (run,) = results["runs"].values()
    assert run["tests"] == 3 and run["checked"] is False and run["finished_at"].endswith("Z")
    assert len(run["commit"]) >= 40
    assert "traceability: 3 tests prove 2 of 2 requirements" in output


def test_the_controller_records_the_outcomes_under_xdist(tmp_path):
    code, output, results = run_pytest(tmp_path, BOTH_PROVEN, "-n", "2")
    assert code == 1, output
    outcomes = {
        n: t["outcome"] for tests in results["requirements"].values() for n, t in tests.items()
    }
    assert outcomes == {
        "test_small.py::test_one": "passed",
        "test_small.py::test_both": "passed",
        "test_small.py::test_two_fails": "failed",
    }


def test_an_unknown_requirement_is_a_usage_error_naming_the_test_and_the_id(tmp_path):
    code, output, results = run_pytest(
        tmp_path,
        """
        import pytest

        @pytest.mark.requirement("ONE-1", "THREE-9")
        def test_wrong():
            pass
        """,
    )
    assert code == pytest.ExitCode.USAGE_ERROR, output
    assert "test_small.py::test_wrong: unknown requirement THREE-9" in output
    assert results is None


def test_under_xdist_an_unknown_requirement_is_a_usage_error_too(tmp_path):
    code, output, _ = run_pytest(
        tmp_path,
        """
        import pytest

        @pytest.mark.requirement("THREE-9")
        def test_wrong():
            pass
        """,
        "-n",
        "2",
    )
    assert code == pytest.ExitCode.USAGE_ERROR, output
    assert "ERROR: test_small.py::test_wrong: unknown requirement THREE-9" in output


def test_a_marker_without_an_id_is_a_usage_error(tmp_path):
    code, output, _ = run_pytest(
        tmp_path,
        """
        import pytest

        @pytest.mark.requirement()
        def test_nothing():
            pass
        """,
    )
    assert code == pytest.ExitCode.USAGE_ERROR and "names no id" in output


ONLY_ONE = """
    import pytest

    @pytest.mark.requirement("ONE-1")
    def test_one():
        pass
"""


def test_a_requirement_without_a_test_only_reports_by_default(tmp_path):
    code, output, results = run_pytest(tmp_path, ONLY_ONE)
    assert code == 0, output
    assert "1 tests prove 1 of 2 requirements" in output and "FAILED" not in output
    assert list(results["requirements"]) == ["ONE-1"]


def test_required_a_requirement_without_a_test_fails_the_run_naming_it(tmp_path):
    code, output, results = run_pytest(tmp_path, ONLY_ONE, require=True)
    assert code == 1, output
    assert "requirement TWO-1 (The second requirement) has no test" in output
    assert "ONE-1" not in output.split("FAILED: traceability")[1]
    assert results["runs"][next(iter(results["runs"]))]["checked"] is True


def test_required_a_requirement_whose_tests_were_all_skipped_fails_the_run(tmp_path):
    code, output, _ = run_pytest(
        tmp_path,
        """
        import pytest

        @pytest.mark.requirement("ONE-1", "TWO-1")
        def test_one():
            pass

        @pytest.mark.requirement("TWO-1")
        @pytest.mark.skip(reason="no server here")
        def test_two():
            pass
        """,
        "-k",
        "test_two",
        require=True,
    )
    assert code == 1, output
    assert "requirement TWO-1 (The second requirement): all 1 of its tests were skipped" in output
    assert "requirement ONE-1 (The first requirement) has no test" in output


def test_required_every_requirement_proven_passes(tmp_path):
    code, output, _ = run_pytest(
        tmp_path,
        """
        import pytest

        @pytest.mark.requirement("ONE-1", "TWO-1")
        def test_both():
            pass
        """,
        require=True,
    )
    assert code == 0, output
    assert "FAILED" not in output


def test_a_partial_run_keeps_the_other_tests_last_results(tmp_path):
    run_pytest(tmp_path, BOTH_PROVEN)
    _, _, results = run_pytest(tmp_path, BOTH_PROVEN, "-k", "test_one")
    one = results["requirements"]["ONE-1"]
    assert set(one) == {"test_small.py::test_one", "test_small.py::test_both"}
    assert one["test_small.py::test_one"]["run"] != one["test_small.py::test_both"]["run"]
    assert set(results["runs"]) == {t["run"] for t in one.values()}


# --- manage.py traceability -------------------------------------------------------------------


def results_file(tmp_path) -> Path:
    run = {
        "finished_at": "2026-12-06T17:00:00Z",
        "commit": "a" * 40,
        "database": "postgresql",
        "checked": True,
        "tests": 3,
    }
    results = {
        "format": 1,
        "runs": {"20261206T170000Z": run, "20261201T090000Z": {**run, "tests": 1}},
        "requirements": {
            "ONE-1": {
                "tests/test_a.py::test_a": {"outcome": "passed", "run": "20261206T170000Z"},
                "tests/test_a.py::test_b": {"outcome": "skipped", "run": "20261206T170000Z"},
            },
            "TWO-1": {"tests/test_a.py::test_c": {"outcome": "failed", "run": "20261206T170000Z"}},
            "OLD-1": {"tests/test_a.py::test_d": {"outcome": "passed", "run": "20261206T170000Z"}},
        },
    }
    path = tmp_path / "traceability.json"
    path.write_text(json.dumps(results))
    (tmp_path / "requirements.yaml").write_text(
        REQUIREMENTS + "  - id: THREE-1\n    title: The third requirement\n    basis: [Rule 4]\n"
    )
    return path


def traceability(tmp_path, *args):
    call_command(
        "traceability",
        "--requirements",
        str(tmp_path / "requirements.yaml"),
        "--results",
        str(tmp_path / "traceability.json"),
        "--markdown",
        str(tmp_path / "docs" / "validation.md"),
        "--json",
        str(tmp_path / "docs" / "validation.json"),
        *args,
    )
    return (
        (tmp_path / "docs" / "validation.md").read_text(),
        json.loads((tmp_path / "docs" / "validation.json").read_text()),
    )


def test_the_command_writes_each_requirement_its_basis_tests_results_and_run(tmp_path, capsys):
    results_file(tmp_path)
    markdown, matrix = traceability(tmp_path)
    assert [(r["id"], r["status"]) for r in matrix["requirements"]] == [
        ("ONE-1", "proven"),
        ("TWO-1", "failing"),
        ("THREE-1", "no test"),
    ]
    assert matrix["requirements"][1]["basis"] == ["Rule 2", "Rule 3"]
    assert matrix["not_in_the_list"] == ["OLD-1"]
    assert list(matrix["runs"]) == ["20261206T170000Z"]  # the run no test came from is left out
    assert "| [ONE-1](#one-1) The first requirement | Rule 1 | proven | 1 / 2 |" in markdown
    assert "| `tests/test_a.py::test_c` | failed | `20261206T170000Z` |" in markdown
    assert f"commit `{'a' * 40}`, postgresql, checked run (REQUIRE_TRACEABILITY=1)" in markdown
    assert "No test is marked with this requirement." in markdown
    out, err = capsys.readouterr()
    assert "1 of 3 requirements proven" in out
    assert "TWO-1 (The second requirement): failing" in err and "THREE-1" in err


def test_with_check_the_command_exits_1_while_a_requirement_is_not_proven(tmp_path):
    results_file(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        traceability(tmp_path, "--check")
    assert stopped.value.code == 1


def test_without_results_the_command_says_what_to_run(tmp_path):
    (tmp_path / "requirements.yaml").write_text(REQUIREMENTS)
    with pytest.raises(CommandError, match=r"traceability.json: no test results yet"):
        traceability(tmp_path)


def test_the_committed_matrix_lists_every_requirement_of_the_list():
    from review.validation import load_requirements, read_matrix

    matrix = read_matrix(ROOT / "docs" / "validation.json")
    listed = [r.id for r in load_requirements(ROOT / "docs" / "requirements.yaml")]
    assert matrix is not None and [r["id"] for r in matrix["requirements"]] == listed
    markdown = (ROOT / "docs" / "validation.md").read_text()
    assert all(f"\n## {i}\n" in markdown for i in listed)


# --- The page ----------------------------------------------------------------------------------


def page_for(world, who):
    client = Client()
    client.force_login(world.users[who], backend="django.contrib.auth.backends.ModelBackend")
    return client.get("/audit/validation/")


@pytest.mark.parametrize("who", ["manager", "chief", "monitor.buc"])
def test_the_page_shows_the_matrix_the_command_wrote(world, settings, tmp_path, who):
    results_file(tmp_path)
    traceability(tmp_path)
    settings.BASE_DIR = tmp_path
    answer = page_for(world, who)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'data-testid="requirement-ONE-1"' in html and "The first requirement" in html
    assert 'nhsuk-tag--red" data-testid="status">failing' in html
    assert "<code>tests/test_a.py::test_c</code>" in html
    assert "6 Dec 2026 17:00" in html  # the run, in UK time (GMT in December)
    assert "1 without a test" in html


def test_the_page_says_when_there_is_no_matrix(world, settings, tmp_path):
    settings.BASE_DIR = tmp_path
    answer = page_for(world, "manager")
    assert answer.status_code == 200 and b'data-testid="no-matrix"' in answer.content


@pytest.mark.parametrize("who", ["coord.buc", "pi.buc", "assessor.buc", "stats.unblind"])
def test_roles_that_do_not_inspect_are_refused(world, who):
    assert page_for(world, who).status_code == 403


def test_signed_out_the_page_asks_to_sign_in(world):
    answer = Client().get("/audit/validation/")
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
