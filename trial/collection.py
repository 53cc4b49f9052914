"""What may be collected from a family now: consent versions in effect, re-consent due,
consent items that open a data source, and withdrawal levels. One selector answers it for
every caller (pages, API, eCRF entry, randomisation)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet

from core.clock import today

from .config import config_of
from .models import ConsentRecord, ConsentVersion, ConsentVersionSite, Family
from .selectors import with_records

NO_CONSENT = "no consent to take part"


# The version in use at each site on a day, by site id: read once for a whole list.
InEffect = dict[int, ConsentVersion | None]


def versions_in_effect(site_ids: Iterable[int], on: date) -> InEffect:
    """The consent form version in use at each site on that date (the latest to take
    effect there), in one query."""
    found: InEffect = dict.fromkeys(site_ids)
    for row in (
        ConsentVersionSite.objects.filter(site_id__in=list(found), effective_from__lte=on)
        .select_related("version")
        .order_by("site_id", "-effective_from", "-id")
    ):
        if found[row.site_id] is None:
            found[row.site_id] = row.version
    return found


def version_in_effect(site, on: date) -> ConsentVersion | None:
    """The consent form version in use at the site on that date (the latest to take effect)."""
    return versions_in_effect([site.pk], on)[site.pk]


def _required_yes(consent: ConsentRecord, required: set[str]) -> bool:
    return all(consent.answers.get(key) is True for key in required)


def reconsent_due(
    family: Family,
    on: date | None = None,
    consents: list[ConsentRecord] | None = None,
    *,
    in_effect: InEffect | None = None,
) -> ConsentVersion | None:
    """The version the family must re-consent on before more data is collected, or None."""
    day = on or today()
    in_effect = in_effect if in_effect is not None else versions_in_effect([family.site_id], day)
    version = in_effect[family.site_id]
    if version is None or not version.reconsent_required:
        return None
    required = {i.key for i in config_of(family.trial).consent_items if i.required}
    consents = consents if consents is not None else list(family.consents.all())
    if any(c.version_id == version.pk and _required_yes(c, required) for c in consents):
        return None
    return version


def families_needing_reconsent(
    families: QuerySet[Family], on: date | None = None
) -> list[tuple[Family, ConsentVersion]]:
    day = on or today()
    sites = set(families.order_by().values_list("site_id", flat=True).distinct())
    in_effect = versions_in_effect(sites, day)
    asking = {site for site, v in in_effect.items() if v is not None and v.reconsent_required}
    if not asking:
        return []  # no site asks for consent again: no family need be read
    families = with_records(
        families.filter(site_id__in=asking).select_related(None).select_related("site"),
        "consents",
        "withdrawals",
    )
    due = []
    for family in families:
        version = reconsent_due(family, day, list(family.consents.all()), in_effect=in_effect)
        status = collection_status(family, day, in_effect=in_effect)
        if version and not status.withdrawn_completely:
            due.append((family, version))
    return due


@dataclass(frozen=True)
class CollectionStatus:
    """Per data source: may it be collected, and if not, why."""

    allowed: dict[str, bool]
    reasons: dict[str, str] = field(default_factory=dict)
    withdrawn_completely: bool = False
    reconsent_version: str = ""

    def may(self, source: str) -> bool:
        return self.allowed.get(source, False)

    @property
    def anything(self) -> bool:
        return any(self.allowed.values())


def collection_statuses(families: Iterable[Family], on: date | None = None) -> dict:
    """collection_status for each family of a list, by family id, reading the versions in
    effect once (consents and withdrawals are best prefetched)."""
    day = on or today()
    families = list(families)
    in_effect = versions_in_effect({f.site_id for f in families}, day)
    return {f.pk: collection_status(f, day, in_effect=in_effect) for f in families}


def collection_status(
    family: Family, on: date | None = None, *, in_effect: InEffect | None = None
) -> CollectionStatus:
    """What may be collected from the family on a day (consents and withdrawals read
    through family.consents.all() and .withdrawals.all(): prefetch them for a list). A
    family read with both prefetched is a snapshot, so its status for a day is worked out
    once, however many checks of one service ask."""
    day = on or today()
    prefetched = getattr(family, "_prefetched_objects_cache", {})
    if in_effect is not None or not {"consents", "withdrawals"} <= prefetched.keys():
        return _status(family, day, in_effect)
    known = family.__dict__.setdefault("_collection_status", {})
    if day not in known:
        known[day] = _status(family, day, None)
    return known[day]


def _status(family: Family, day: date, in_effect: InEffect | None) -> CollectionStatus:
    config = config_of(family.trial)
    allowed = dict.fromkeys(config.data_sources, True)
    reasons: dict[str, str] = {}

    def stop(source: str, why: str) -> None:
        if allowed.get(source):
            allowed[source] = False
            reasons[source] = why

    consents = [c for c in family.consents.all() if c.consent_date <= day]
    required = {i.key for i in config.consent_items if i.required}
    current = [c for c in consents if _required_yes(c, required)]
    if not current:
        for source in config.data_sources:
            stop(source, NO_CONSENT)
    due = reconsent_due(family, day, list(family.consents.all()), in_effect=in_effect)
    if due is not None:
        for source in config.data_sources:
            stop(source, f"re-consent on version {due.version} is due")
    for item in config.consent_items:
        if item.gates and not any(c.answers.get(item.key) is True for c in current):
            stop(item.gates, f"no consent to '{item.label.lower()}'")
    complete = False
    for withdrawal in family.withdrawals.all():
        if withdrawal.withdrawal_date <= day:
            level = config.withdrawal_level(withdrawal.level)
            for source in sorted(level.stops if level else ()):
                stop(source, f"withdrawn: {level.label.lower()} ({withdrawal.withdrawal_date})")
            complete = complete or bool(level and level.stops >= set(config.data_sources))
    return CollectionStatus(
        allowed=allowed,
        reasons=reasons,
        withdrawn_completely=complete,
        reconsent_version=due.version if due else "",
    )
