"""What a site needs before it may recruit, beyond its own record. Besides the principal
investigator, the checks are configuration (`SITE_ACTIVATION_CHECKS`), so that an app above
this one (randomisation: the site's allocation list) adds its own without this app
importing it."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from core.channels import Channel
from core.errors import Conflict

from .models import Site, SiteStatus


@dataclass(frozen=True)
class Step:
    """One line of a site's activation checklist: what it needs, whether it has it, and
    what it is waiting for (or how it will be done)."""

    label: str
    done: bool
    note: str = ""


class ActivationWaiting(Conflict):
    """Activation is refused until someone else provides what is missing. `ask` asks them
    for it; it runs in a transaction of its own, once the refused activation has rolled back."""

    def __init__(self, message: str, *, field: str, ask: Callable[[], object] | None = None):
        super().__init__(message, field=field)
        self.ask = ask


class ActivationCheck(Protocol):
    def steps(self, site: Site) -> list[Step]:
        """The checklist lines this check adds for the site; none where it asks nothing."""

    def on_step(self, site: Site, *, to_status: str, actor, channel: Channel) -> None:
        """Called inside the transaction of each status step, before the step is saved:
        raise the domain error to refuse it, or do what the step needs (in that same
        transaction)."""


@cache
def activation_checks() -> tuple[ActivationCheck, ...]:
    """The checks, in the order the settings list them."""
    return tuple(import_string(path)() for path in settings.SITE_ACTIVATION_CHECKS)


def principal_investigator_step(site: Site) -> Step:
    pi = site.principal_investigator
    return Step(
        "Principal investigator",
        pi is not None,
        (pi.get_full_name() or pi.get_username()) if pi else "none yet: set one in the details",
    )


def activation_checklist(site: Site) -> list[Step]:
    """What the site needs before it is activated, met or not; empty once it is past that."""
    if site.status not in (SiteStatus.PROPOSED, SiteStatus.APPROVED):
        return []
    steps = [principal_investigator_step(site)]
    for check in activation_checks():
        steps += check.steps(site)
    return steps
