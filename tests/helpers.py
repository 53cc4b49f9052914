"""Small assertions shared by tests."""

from contextlib import contextmanager

from audit.models import AuditEvent
from sites.models import Delegation, Membership, Site, SiteStatusStep


def counts() -> dict[str, int]:
    return {
        "sites": Site.objects.count(),
        "steps": SiteStatusStep.objects.count(),
        "memberships": Membership.objects.count(),
        "delegations": Delegation.objects.count(),
        "events": AuditEvent.objects.count(),
        "site_history": Site.history.count(),
    }


@contextmanager
def writes_nothing():
    """Asserts the block leaves every table it could touch as it was."""
    before = counts()
    yield
    assert counts() == before


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq").first()
