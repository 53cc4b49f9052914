"""Figures kept per site between views, for as long as the site's data stand as they were:
a report or list over 100 sites recomputes, after a form is entered at one of them, that one
site's figures, not the hundred (the data quality report, the forms due).

What says a site's data still stand is its mark: the hash of the site's last sealed event in
the audit ledger. Every change of state at a site writes an event carrying the site (the one
rule), and an event's hash covers the whole chain before it, so the same mark means the same
history at that site (after a restore from backup as well: a reused place in the chain has
another hash). Marks come from sealed events only: an event is sealed once its transaction
has committed, and one sealed later takes a later place, so a change committed after the
mark was read moves it. A site with an event committed but not yet sealed has no mark, and
its figures are computed on every view until the sealer has run (a tenth of a second).

The mark is read before the figures, so what is kept under a mark was computed from data at
least as new as the mark: nothing shown is older than the ledger says. What a figure depends
on besides the site's data (the day, a report's filters, the trial's definition, the forms
shown) is part of the key the caller gives."""

import hashlib
import logging
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from django.core.cache import cache
from django.db.models import Exists, OuterRef, Subquery

from audit.models import AuditEvent

from .models import Site

T = TypeVar("T")
logger = logging.getLogger(__name__)

# Keys hold the day, so nothing kept is read after two days.
KEPT_FOR = 2 * 24 * 3600


def site_marks(site_ids: list[int]) -> dict[int, str | None]:
    """By site id: the hash of the site's last sealed event ("" when it has none), or None
    while one of its events waits to be sealed. One query, an index look-up a site."""
    events = AuditEvent.objects.filter(site_id=OuterRef("pk"))
    return {
        pk: None if waiting else (mark or "")
        for pk, mark, waiting in Site.objects.filter(pk__in=site_ids)
        .annotate(
            mark=Subquery(events.filter(pos__isnull=False).order_by("-pos").values("hash")[:1]),
            waiting=Exists(events.filter(pos__isnull=True)),
        )
        .values_list("pk", "mark", "waiting")
        .order_by()
    }


def _key(kind: str, given: Hashable, site_id: int, mark: str) -> str:
    digest = hashlib.sha256(repr((given, site_id, mark)).encode()).hexdigest()
    return f"kept:{kind}:{digest}"


def kept_by_site(
    sites: Sequence[Site],
    kind: str,
    given: Hashable,
    compute: Callable[[tuple[Site, ...]], dict[int, T]],
) -> dict[int, T]:
    """Each site's figures, by site id: kept ones where the site's mark is unchanged, the
    others computed (`compute`, for those sites, giving figures for every one of them) and
    kept. `kind` names what is kept; `given` is everything else the figures depend on."""
    marks = site_marks([site.pk for site in sites])
    keys = {pk: _key(kind, given, pk, mark) for pk, mark in marks.items() if mark is not None}
    try:
        found = cache.get_many(list(keys.values()))
    except Exception:  # an unreachable cache costs time, never the page
        logger.warning("Cache unreachable: every site's figures computed", exc_info=True)
        found, keys = {}, {}
    figures = {pk: found[key] for pk, key in keys.items() if key in found}
    missing = tuple(site for site in sites if site.pk not in figures)
    if missing:
        computed = compute(missing)
        kept = {keys[pk]: value for pk, value in computed.items() if pk in keys}
        try:
            cache.set_many(kept, KEPT_FOR)
        except Exception:  # as above
            logger.warning("Cache unreachable: figures not kept", exc_info=True)
        figures.update(computed)
    return figures
