"""Requirements traced to tests: the pytest side of docs/validation.md.

A test that proves a requirement of docs/requirements.yaml carries
`@pytest.mark.requirement("ID", ...)`. This plugin

- refuses an id the list does not hold (a usage error naming the test and the id),
- records each such test's outcome, in the controller under xdist (workers pass the ids on in
  `report.user_properties`, which reach the controller with every report),
- writes the results file (var/traceability.json, or TRACEABILITY_FILE) at the end of the
  session: requirement -> test -> outcome, each with the run (time, commit, database) it came
  from. A partial run updates the tests it ran and keeps the others' last results; a run with
  REQUIRE_TRACEABILITY=1 (CI) replaces the file,
- with REQUIRE_TRACEABILITY=1, fails the session when a requirement has no test, or when every
  test of one was skipped. Without it, it only reports.

`manage.py traceability` turns the results file into docs/validation.md and .json.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

MARKER = "requirement"
PROBLEM = "requirement-problem"
ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "docs" / "requirements.yaml"
RESULTS = ROOT / "var" / "traceability.json"
# The order in which one test's phases decide its outcome: the worst one wins.
WORST_FIRST = ("failed", "error", "xpassed", "skipped", "xfailed", "passed")

_requirements = pytest.StashKey[dict]()
_outcomes = pytest.StashKey[dict]()
_problems_key = pytest.StashKey[list]()
_written_key = pytest.StashKey[Path]()
_problem_key = pytest.StashKey[str]()
_marker_problems: list[str] = []


def load_requirements(path: Path = REQUIREMENTS) -> dict[str, dict]:
    """The requirements list, by id, in the order the file gives them."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        listed = data["requirements"]
        return {str(r["id"]): r for r in listed}
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise pytest.UsageError(f"{path}: cannot read the requirements list ({error})") from None


def _required() -> bool:
    return os.environ.get("REQUIRE_TRACEABILITY") == "1"


def _results_path() -> Path:
    return Path(os.environ.get("TRACEABILITY_FILE") or RESULTS)


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    path = Path(os.environ.get("TRACEABILITY_REQUIREMENTS") or REQUIREMENTS)
    config.stash[_requirements] = load_requirements(path)
    config.stash[_outcomes] = {}


def _marker_problem(item, known: dict) -> str | None:
    marks = list(item.iter_markers(MARKER))
    if any(not mark.args for mark in marks):
        return f"{item.nodeid}: @pytest.mark.requirement names no id"
    unknown = sorted({str(i) for mark in marks for i in mark.args} - set(known))
    if unknown:
        return (
            f"{item.nodeid}: unknown requirement {', '.join(unknown)} "
            f"(docs/requirements.yaml lists {', '.join(known)})"
        )
    return None


def pytest_collection_modifyitems(config, items):
    known = config.stash[_requirements]
    for item in items:
        problem = _marker_problem(item, known)
        if problem and not _is_worker(config):
            raise pytest.UsageError(problem)
        if problem:
            # A worker that raised here would crash without the message reaching the
            # controller: the test fails at setup instead, and the controller ends the run
            # as a usage error.
            item.stash[_problem_key] = problem
            item.user_properties.append((PROBLEM, problem))
            continue
        ids = [i for mark in item.iter_markers(MARKER) for i in mark.args]
        for requirement in dict.fromkeys(ids):
            item.user_properties.append((MARKER, requirement))


def pytest_runtest_setup(item):
    problem = item.stash.get(_problem_key, None)
    if problem:
        pytest.fail(problem, pytrace=False)


def _outcome_of(report) -> str:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return report.outcome  # passed or skipped


def pytest_runtest_logreport(report):
    # Under xdist the workers call this hook too; only the controller's copy is kept.
    config = _session_config
    if config is None or _is_worker(config):
        return
    _marker_problems.extend(
        v for n, v in report.user_properties if n == PROBLEM and v not in _marker_problems
    )
    ids = [value for name, value in report.user_properties if name == MARKER]
    if not ids:
        return
    if report.when == "teardown" and report.passed:
        return
    outcomes = config.stash[_outcomes]
    outcome = _outcome_of(report)
    seen = outcomes.get(report.nodeid)
    if seen is None:
        outcomes[report.nodeid] = {"requirements": ids, "outcome": outcome}
    elif WORST_FIRST.index(outcome) < WORST_FIRST.index(seen["outcome"]):
        seen["outcome"] = outcome


_session_config = None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    global _session_config
    _session_config = session.config


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+changes" if dirty else head


def _database() -> str:
    try:
        from django.conf import settings

        return settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    except Exception:  # the plugin also runs outside this project's settings
        return "unknown"


def _merged(previous: dict, run_id: str, run: dict, outcomes: dict, replace: bool) -> dict:
    requirements: dict[str, dict] = {}
    if not replace:
        for requirement, tests in previous.get("requirements", {}).items():
            kept = {n: t for n, t in tests.items() if n not in outcomes}
            if kept:
                requirements[requirement] = kept
    for nodeid, result in outcomes.items():
        for requirement in result["requirements"]:
            requirements.setdefault(requirement, {})[nodeid] = {
                "outcome": result["outcome"],
                "run": run_id,
            }
    used = {t["run"] for tests in requirements.values() for t in tests.values()}
    runs = {k: v for k, v in previous.get("runs", {}).items() if k in used and not replace}
    runs[run_id] = run
    return {
        "format": 1,
        "requirements": {k: dict(sorted(v.items())) for k, v in sorted(requirements.items())},
        "runs": dict(sorted(runs.items())),
    }


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)  # readers never see half a file


def _problems(requirements: dict, outcomes: dict) -> list[str]:
    by_requirement: dict[str, list[str]] = {r: [] for r in requirements}
    for result in outcomes.values():
        for requirement in result["requirements"]:
            by_requirement[requirement].append(result["outcome"])
    problems = []
    for requirement, found in by_requirement.items():
        title = requirements[requirement].get("title", "")
        if not found:
            problems.append(f"requirement {requirement} ({title}) has no test")
        elif all(o in ("skipped", "xfailed") for o in found):
            problems.append(
                f"requirement {requirement} ({title}): all {len(found)} of its tests were skipped"
            )
    return problems


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if _is_worker(config):
        return
    outcomes = config.stash[_outcomes]
    config.stash[_problems_key] = problems = (
        _problems(config.stash[_requirements], outcomes) if _required() else []
    )
    if outcomes:
        now = datetime.now(UTC).replace(microsecond=0)
        run_id = now.strftime("%Y%m%dT%H%M%SZ")
        run = {
            "finished_at": now.isoformat().replace("+00:00", "Z"),
            "commit": _commit(),
            "database": _database(),
            "checked": _required(),
            "tests": len(outcomes),
        }
        path = _results_path()
        previous = {}
        if path.exists() and not _required():
            try:
                previous = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                previous = {}
        _write(path, _merged(previous, run_id, run, outcomes, replace=_required()))
        config.stash[_written_key] = path
    if problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if _marker_problems:
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def pytest_terminal_summary(terminalreporter, config):
    if _is_worker(config):
        return
    for problem in _marker_problems:
        terminalreporter.write_line(f"ERROR: {problem}", red=True)
    outcomes = config.stash.get(_outcomes, {})
    if not outcomes and not _required():
        return
    traced = {r for result in outcomes.values() for r in result["requirements"]}
    total = len(config.stash[_requirements])
    written = config.stash.get(_written_key, None)
    where = f"; results in {written}" if written else ""
    terminalreporter.write_line(
        f"traceability: {len(outcomes)} tests prove {len(traced)} of {total} requirements{where}"
    )
    problems = config.stash.get(_problems_key, [])
    if problems:
        terminalreporter.write_line(
            f"FAILED: traceability (REQUIRE_TRACEABILITY=1): {len(problems)} requirements "
            "are not proven by a test that ran:",
            red=True,
        )
        for line in problems:
            terminalreporter.write_line(f"  {line}", red=True)
