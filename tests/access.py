"""The accounts of the permission matrices, and the expected answers by scope.

Each table maps an account name (None: signed out) to the status it should get."""

ROLES = [
    "manager",
    "coord.buc",
    "assessor.buc",
    "monitor.buc",
    "stats.blind",
    "stats.unblind",
    "pi.buc",
    "outsider",
    None,
]
SIGNED_IN_ACCOUNTS = [r for r in ROLES if r]
# Who can see each site's records: its own staff, and the trial-wide roles.
BUC_READERS = {
    "manager",
    "coord.buc",
    "assessor.buc",
    "monitor.buc",
    "stats.blind",
    "stats.unblind",
    "pi.buc",
}
OXF_READERS = {"manager", "stats.blind", "stats.unblind"}
AUDIT_READERS = {"manager": 200, "monitor.buc": 200}


def everyone(ok: int, *, signed_out: int) -> dict:
    return {r: ok for r in SIGNED_IN_ACCOUNTS} | {None: signed_out}


def only(allowed: dict[str, int], *, refused: int = 403, signed_out: int) -> dict:
    return everyone(refused, signed_out=signed_out) | allowed


def sees(readers: set[str], ok: int, *, signed_out: int) -> dict:
    """Readers get ok; everyone else is told the record does not exist."""
    return {r: (ok if r in readers else 404) for r in SIGNED_IN_ACCOUNTS} | {None: signed_out}


def acts_on(readers: set[str], allowed: dict[str, int], *, signed_out: int) -> dict:
    """The allowed accounts act; other readers are refused (403); the rest get 404."""
    return (
        {r: (403 if r in readers else 404) for r in SIGNED_IN_ACCOUNTS}
        | {None: signed_out}
        | allowed
    )


def one_event(world) -> int:
    """Make sure the ledger holds an event (for a sign-off to cover); return its seq."""
    from django.db import transaction

    from audit.events import Channel, EventType
    from audit.ledger import record

    with transaction.atomic():
        return record(
            event=EventType.UPDATE, actor=world.manager, channel=Channel.COMMAND, site=world.buc
        ).seq
