"""The one domain error type. Pages turn it into form errors, the API into its JSON shape."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import IntegrityError, transaction


class TrialError(Exception):
    """A request the trial's rules refuse, with a message a coordinator understands."""

    status = 400
    code = "invalid"

    def __init__(
        self, message: str, *, field: str | None = None, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field or (next(iter(fields)) if fields else None)
        # Every field's own message, when more than one is wrong at once (a form's answers).
        self.fields = fields or ({field: message} if field else {})


class NotPermitted(TrialError):
    """The actor's role or delegated duties at that site do not allow this."""

    status = 403
    code = "not_permitted"


class Conflict(TrialError):
    """The request clashes with the record's current state (a step out of order)."""

    status = 409
    code = "conflict"


@contextmanager
def refused_if_duplicate(message: str, *, field: str) -> Iterator[None]:
    """The service checked for a duplicate first; a concurrent request can still insert
    the same row between that check and this write, and the database's unique index then
    refuses it. Say so in the same words as the check."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        raise TrialError(message, field=field) from exc
