"""The forms the data quality report does not expect of a family because its consent or
withdrawal stops the data source they collect (trial.collection, the rule the casebook and
the lists of forms due read), counted per site, visit and form.

Most families may give every source. A family that withdrew, with a consent that opens
every source, may give every source but those its withdrawal levels stop: its forms
stopped follow from the levels alone, so it is read as a row. Only the few families whose
consent may stop a source are read one by one through the collection rule."""

from collections import defaultdict
from datetime import date

from django.db.models import F, Q
from django.utils import timezone

from crf.models import NotDone, Response
from crf.selectors import DONE
from trial.collection import collection_statuses, versions_in_effect
from trial.models import ConsentRecord, Family, Withdrawal

from .scope import ReportScope
from .windows import randomised_in

AT = "allocations__randomised_at"


def _unconsented(scope: ReportScope) -> Q:
    """Families whose consent may stop some data source on the report's day. Every other
    family has a current consent that says yes to every item that opens a source, and no
    re-consent due. Each test is a list of families read once (not a check a family), so
    the database hashes it."""
    config, day = scope.config, scope.on
    required = {f"answers__{i.key}": True for i in config.consent_items if i.required}
    current = ConsentRecord.objects.filter(consent_date__lte=day, **required).order_by()
    # One current consent that says yes to every item that opens a source: a family whose
    # yeses are spread over several consents is read one by one too, and found allowed.
    gates = {f"answers__{i.key}": True for i in config.consent_items if i.gates}
    stopped = ~Q(pk__in=current.filter(**gates).values("family_id"))
    for site_id, version in versions_in_effect(scope.site_ids, day).items():
        if version is not None and version.reconsent_required:
            on_version = ConsentRecord.objects.filter(version=version, **required).order_by()
            stopped |= Q(site_id=site_id) & ~Q(pk__in=on_version.values("family_id"))
    return stopped


def _read_consents(families: list[Family], scope: ReportScope) -> None:
    """Give each family its trial (read once, not once a family) and its consents and
    withdrawals, in one query each, where `family.consents.all()` and
    `.withdrawals.all()` find them: what prefetch_related does, without the queryset it
    builds for every family (a fifth of a second for a few hundred families)."""
    ids = [f.pk for f in families]
    consents: dict[int, list] = defaultdict(list)
    for consent in (
        ConsentRecord.objects.filter(family_id__in=ids)
        .only("family_id", "version_id", "consent_date", "answers")
        .order_by()
    ):
        consents[consent.family_id].append(consent)
    withdrawals: dict[int, list] = defaultdict(list)
    for withdrawal in (
        Withdrawal.objects.filter(family_id__in=ids)
        .only("family_id", "level", "withdrawal_date")
        .order_by()
    ):
        withdrawals[withdrawal.family_id].append(withdrawal)
    for family in families:
        family.trial = scope.trial
        family._prefetched_objects_cache = {
            "consents": consents[family.pk],
            "withdrawals": withdrawals[family.pk],
        }


def stopped_slots(
    scope: ReportScope, visits: list, shown: dict
) -> tuple[dict[tuple, int], dict[tuple, int]]:
    """By (site id, visit, form): the forms stopped that are neither complete nor marked
    not done, among those expected (window opened) and those overdue (window closed)."""
    on = scope.on
    sources_of = {form: set(d.spec.sources) for form, d in shown.items()}
    sources = set().union(*sources_of.values())

    # (family id, site id, randomisation time, sources stopped), for each family that may
    # not give some source a shown form collects.
    stopping: list[tuple[int, int, object, set[str]]] = []
    unconsented = list(
        Family.objects.filter(randomised_in(scope) & _unconsented(scope))
        .annotate(randomised_at=F(AT))
        .only("trial_id", "site_id")
        .order_by()
    )
    _read_consents(unconsented, scope)
    statuses = collection_statuses(unconsented, on)
    for family in unconsented:
        status = statuses[family.pk]
        stopped = {s for s in sources if not status.may(s)}
        if stopped:
            stopping.append((family.pk, family.site_id, family.randomised_at, stopped))
    read = {f.pk for f in unconsented}
    levels = {w.key: set(w.stops) for w in scope.config.withdrawal_levels or []}
    withdrawn: dict[int, list] = {}
    for family_id, site_id, randomised_at, level in (
        Withdrawal.objects.filter(randomised_in(scope, "family__"), withdrawal_date__lte=on)
        .values_list("family_id", "family__site_id", f"family__{AT}", "level")
        .order_by()
    ):
        if family_id in read:
            continue  # the collection rule has it, withdrawal and all
        row = withdrawn.setdefault(family_id, [family_id, site_id, randomised_at, set()])
        row[3] |= levels.get(level, set()) & sources
    stopping.extend(tuple(row) for row in withdrawn.values() if row[3])
    if not stopping:
        return {}, {}

    # What those families have complete or marked not done: those of the families that
    # withdrew by the day read through a list the database hashes, not their ids.
    gone = Withdrawal.objects.filter(withdrawal_date__lte=on).values("family_id")
    theirs = Q(family_id__in=list(read)) | Q(family_id__in=gone)
    slots = ("family_id", "visit", "form")
    collected = set(
        Response.objects.filter(theirs, status__in=DONE).values_list(*slots).order_by()
    ) | set(NotDone.objects.filter(theirs).values_list(*slots).order_by())

    slots_of = {form: [v for v in visits if form in v.forms] for form in shown}
    less_expected: dict[tuple, int] = defaultdict(int)
    less_overdue: dict[tuple, int] = defaultdict(int)
    for family_id, site_id, randomised_at, stopped in stopping:
        randomised_on: date = timezone.localdate(randomised_at)
        windows = {v.key: v.window(randomised_on) for v in visits}
        for form, needs in sources_of.items():
            if not needs & stopped:
                continue
            for visit in slots_of[form]:
                if (family_id, visit.key, form) in collected:
                    continue
                earliest, _, latest = windows[visit.key]
                slot = (site_id, visit.key, form)
                if visit.before_randomisation or earliest <= on:
                    less_expected[slot] += 1
                if latest < on:
                    less_overdue[slot] += 1
    return less_expected, less_overdue
