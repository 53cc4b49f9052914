"""The validation matrix on a page: each requirement, the tests that prove it and their last
result, read from docs/validation.json (written by `manage.py traceability`, as CI does), for
those who inspect the trial's conduct: the trial manager, the chief investigator, monitors."""

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sites.selectors import open_memberships

from .selectors import AUDIT_READERS
from .validation import FAILING, PROVEN, SKIPPED, UNTESTED, paths_under, read_matrix

TAGS = {PROVEN: "green", FAILING: "red", SKIPPED: "orange", UNTESTED: "orange"}
OUTCOME_TAGS = {"passed": "green", "failed": "red", "error": "red", "xpassed": "red"}


def _when(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _shaped(matrix: dict) -> dict:
    """Times as datetimes (shown in UK time) and each status and outcome with its tag."""
    runs = {
        run_id: {**run, "id": run_id, "finished": _when(run.get("finished_at"))}
        for run_id, run in matrix.get("runs", {}).items()
    }
    rows = [
        {
            **row,
            "tag": TAGS.get(row["status"], "grey"),
            "tests": [
                {**t, "tag": OUTCOME_TAGS.get(t["outcome"], "grey"), "run_of": runs.get(t["run"])}
                for t in row["tests"]
            ],
        }
        for row in matrix["requirements"]
    ]
    return {
        **matrix,
        "requirements": rows,
        "runs": list(runs.values()),
        "generated": _when(matrix.get("generated_at")),
        "untested": matrix["summary"].get(UNTESTED, 0),
    }


@login_required
@require_GET
def validation(request):
    if not open_memberships(request.user).filter(role__in=AUDIT_READERS).exists():
        raise PermissionDenied(
            "Only the trial manager, the chief investigator or a monitor can read the "
            "validation matrix."
        )
    matrix = read_matrix(paths_under(Path(settings.BASE_DIR))["json"])
    return render(
        request, "review/validation.html", {"matrix": _shaped(matrix) if matrix else None}
    )
