"""A report's filter as a request gives it (query parameters `trial`, `site`, `from`, `to`),
read the same way by the pages and the API: a date that is not a date is refused naming its
parameter, never ignored."""

from datetime import date

from core.errors import TrialError
from trial.selectors import trial_named

from .scope import ReportScope, report_scope

PARAMETERS = ("trial", "site", "from", "to")


def _date(params, name: str) -> date | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TrialError(
            f"'{text[:20]}' is not a date: give it as YYYY-MM-DD.", field=name
        ) from None


def scope_from(viewer, params) -> ReportScope:
    """The scope a request's parameters ask for, for this viewer."""
    trial = trial_named(viewer, (params.get("trial") or "").strip() or None)
    return report_scope(
        viewer,
        trial,
        site=(params.get("site") or "").strip() or None,
        start=_date(params, "from"),
        end=_date(params, "to"),
    )
