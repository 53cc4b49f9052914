"""The question every write to a family's data asks first: is it held by a lock or a
freeze? The services refuse with a 409 naming the hold; the database triggers
(lock/triggers.py) refuse whatever does not ask, such as an update by SQL."""

from django.db.models import Exists, Q

from core.errors import Conflict
from trial.models import Family

from .models import DataLock, Freeze


def _open_locks(family: Family):
    return DataLock.objects.filter(trial_id=family.trial_id, unlocked_at__isnull=True)


def lock_over(*, family: Family, form: str = "") -> DataLock | None:
    """The open lock that holds this form of the family's data, or None. `form` "" asks
    about a change to no one form (a query, a signature), which only a lock of the whole
    trial holds."""
    for lock in _open_locks(family).select_related("trial", "locked_by"):
        if lock.holds(form):
            return lock
    return None


def _open_freezes(family: Family, response_id: int | None):
    held = Q(scope=Freeze.Scope.SITE) | Q(scope=Freeze.Scope.CASEBOOK, family_id=family.pk)
    if response_id is not None:
        held |= Q(scope=Freeze.Scope.RESPONSE, response_id=response_id)
    return Freeze.objects.filter(held, site_id=family.site_id, released_at__isnull=True)


def held_at_all(family: Family, response_id: int | None = None) -> dict[str, Exists]:
    """Whether any lock of the trial or freeze of this data is open, as two expressions of
    a query on the family (`any_lock`, `any_freeze`): a write path asks them with its own
    reads, and `hold_over` reads the holds themselves only when one is."""
    return {
        "any_lock": Exists(_open_locks(family)),
        "any_freeze": Exists(_open_freezes(family, response_id)),
    }


def hold_over(
    *,
    family: Family,
    form: str,
    response_id: int | None = None,
    held: tuple[bool, bool] | None = None,
) -> DataLock | Freeze | None:
    """The open lock or freeze that holds this form of the family's data (a lock first),
    or None. `held`: (any_lock, any_freeze) as the caller read them, else read here."""
    if held is None:
        held = (
            Family.objects.filter(pk=family.pk)
            .annotate(**held_at_all(family, response_id))
            .values_list("any_lock", "any_freeze")
            .get()
        )
    locked, frozen = held
    if locked:
        lock = lock_over(family=family, form=form)
        if lock is not None:
            return lock
    if not frozen:
        return None
    return (
        _open_freezes(family, response_id)
        .select_related("site", "family", "response", "frozen_by")
        .first()
    )


def refusal(hold: DataLock | Freeze) -> str:
    if isinstance(hold, DataLock):
        return (
            f"The data are locked ({hold}, by {hold.locked_by.username} on "
            f"{hold.locked_at:%d %b %Y}): nothing held by the lock can be changed."
        )
    return (
        f"The data are frozen ({hold.describe()}, by {hold.frozen_by.username} on "
        f"{hold.frozen_at:%d %b %Y}: {hold.reason}): unfreeze them, with a reason, first."
    )


def refuse_if_held(
    *,
    family: Family,
    form: str,
    response_id: int | None = None,
    held: tuple[bool, bool] | None = None,
) -> None:
    """For a change to a form: raise Conflict (409) naming the lock or freeze that holds it
    (`held` as for hold_over)."""
    hold = hold_over(family=family, form=form, response_id=response_id, held=held)
    if hold is not None:
        raise Conflict(refusal(hold), field="lock")


def refuse_if_locked(*, family: Family) -> None:
    """For a change to a family's queries or signatures (which a freeze leaves open, so that
    a frozen casebook can still be discussed and signed): raise Conflict (409) naming the
    lock of the whole trial."""
    lock = lock_over(family=family)
    if lock is not None:
        raise Conflict(refusal(lock), field="lock")
