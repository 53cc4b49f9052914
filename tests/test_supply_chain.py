"""The production lock file matches pyproject.toml, and the dependency audit fails on a
vulnerability that has a fix."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)")


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if match := PIN.match(line):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_every_production_dependency_is_pinned_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = locked()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run pip-compile again"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier}"
        )


def test_every_pin_carries_its_hashes():
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n\n", 1)[-1])
    pinned = [block for block in blocks if PIN.match(block)]
    assert len(pinned) == len(locked()) > 20
    for block in pinned:
        assert "--hash=sha256:" in block, block.splitlines()[0]


def judge(tmp_path, report: dict, **env) -> subprocess.CompletedProcess:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    return subprocess.run(
        [sys.executable, str(ROOT / "bin" / "audit-dependencies"), "--from-json", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", **env},
    )


def vulnerable(fix_versions: list[str]) -> dict:
    return {
        "dependencies": [
            {
                "name": "django",
                "version": "5.2.8",
                "vulns": [
                    {
                        "id": "PYSEC-2099-1",
                        "fix_versions": fix_versions,
                        "aliases": [],
                        "description": "",
                    }
                ],
            },
            {"name": "numpy", "version": "2.3.0", "vulns": []},
        ]
    }


def test_a_vulnerability_with_a_fix_fails_the_audit_and_names_it(tmp_path):
    run = judge(tmp_path, vulnerable(["5.2.9"]))
    assert run.returncode == 1
    assert "VULNERABLE, upgrade: django 5.2.8: PYSEC-2099-1 (fixed in 5.2.9)" in run.stdout
    assert "2 pinned packages audited, 0 could not be audited." in run.stdout


def test_a_vulnerability_without_a_fix_is_printed_and_passes(tmp_path):
    run = judge(tmp_path, vulnerable([]))
    assert run.returncode == 0
    assert "vulnerable, no fix available: django 5.2.8: PYSEC-2099-1" in run.stdout


@pytest.mark.parametrize(("required", "code"), [("0", 0), ("1", 1)])
def test_packages_the_service_could_not_answer_for_are_named(tmp_path, required, code):
    report = {
        "dependencies": [
            {"name": "django", "skip_reason": "Dependency not found on PyPI"},
            {"name": "numpy", "version": "2.3.0", "vulns": []},
        ]
    }
    run = judge(tmp_path, report, REQUIRE_DEPENDENCY_AUDIT=required)
    assert run.returncode == code
    assert "1 pinned packages audited, 1 could not be audited." in run.stdout
    assert "  django: Dependency not found on PyPI" in run.stdout


def test_the_installed_package_carries_every_app_of_the_project():
    """`pip install --no-deps .` installs the packages pyproject.toml lists: an app of
    INSTALLED_APPS left out of the list would be missing from a production install."""
    from fnmatch import fnmatch

    from django.conf import settings

    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"][
        "find"
    ]["include"]
    # The test settings add the tests' own app, which is never installed.
    packages = {app.split(".")[0] for app in settings.INSTALLED_APPS} - {"tests"}
    ours = {package for package in packages if (ROOT / package).is_dir()}
    missing = sorted(app for app in ours if not any(fnmatch(app, pattern) for pattern in listed))
    assert ours and not missing, f"apps missing from [tool.setuptools.packages.find]: {missing}"
