"""The reason-for-change rule (ICH E6, 21 CFR 11.10(e)): once a record has been completed,
verified or signed, every later change to it needs a reason, on every channel."""

from core.errors import TrialError

from .events import EditAfter


def require_reason(reason: str | None, *, after: EditAfter | None, state: str) -> str:
    """The reason, stripped; refused (naming the field `reason`) when the record's state
    needs one and none was given. `state` says it for the user: "BUC is approved"."""
    reason = (reason or "").strip()
    if after is not None and not reason:
        raise TrialError(f"{state}: give a reason for this change.", field="reason")
    return reason


def given(text: str | None, *, ask: str, field: str = "reason") -> str:
    """A reason or note that is always required, stripped; refused with `ask` (naming the
    field) when it is blank."""
    text = (text or "").strip()
    if not text:
        raise TrialError(ask, field=field)
    return text
