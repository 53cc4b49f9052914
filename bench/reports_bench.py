"""Benchmark of the oversight reports on PostgreSQL (not a test).

Builds a trial of 100 sites and 20,000 families (by default) as the reports read it: the
sites and the trial through the services, then in bulk (`bulk_create` and SQL updates:
set-up rows consistent with what the services write, but not written by them, so with no
ledger events and no history for them): a screening log with the excluded referrals (not
eligible by each criterion, declined and other, with coded reasons), enrolled families
with their consents, allocations to both arms randomised over the last two years,
withdrawals at every level, baseline and follow-up responses for every visit whose window
has opened (some dated out of window, some left overdue, a share verified: several hundred
thousand), forms marked not done, primary outcomes, intervention receipt, SAEs and queries
of every age and status.

Then, for a trial manager and for the unblinded statistician, it requests through Django's
test Client every report page and API endpoint whose URL name resolves at run time (the
report pages, their SVG/PDF/CSV forms and the JSON and CSV API), once to warm up and then
5 times, and prints min / median / max and the queries of one request against the 300 ms
goal; a name that does not resolve is printed as "not present". The data quality report,
which keeps each site's figures between views, is timed three ways: afresh (nothing kept),
with nothing changed, and after a change at one site before each request. Last, the DMC report's PDF
build (`reports.dmc.build_dmc_report`, open and closed, if present) against 30 s.

The database of DATABASE_URL is dropped, created afresh and dropped at the end (`--keep`
leaves it for a look).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reportsbench \
        .venv/bin/python bench/reports_bench.py [--sites 100] [--families 20000] [--runs 5]
"""

import argparse
import logging
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from audit_bench import ensure_database  # noqa: E402
from randomise_bench import setup_django  # noqa: E402  (sets the environment first)

GOAL_MS = 300
DMC_GOAL_S = 30
PAGES = [
    "report-consort",
    "report-consort-svg",
    "report-consort-pdf",
    "report-recruitment",
    "report-recruitment-svg",
    "report-quality",
    "report-balance",
    "report-safety",
    "report-outcome",
]
APIS = [
    "api-report-consort",
    "api-report-recruitment",
    "api-report-quality",
    "api-report-balance",
    "api-report-safety",
    "api-report-outcome",
]
# Each report's CSV is the API's (`api-report-<name>-csv`); the pages link to it.
NAMES = [
    *PAGES,
    *APIS,
    *(f"{n}-csv" for n in APIS),
]
BATCH = 5000
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _tick(label: str, since: float) -> float:
    now = time.perf_counter()
    print(f"  {label:<58} {now - since:>7.1f} s", flush=True)
    return now


def build(
    sites: int,
    families: int,
    *,
    definition: Path = ROOT / "trial/definitions/reconnect.yaml",
    history_days: int = 760,
) -> dict:
    """The trial, its sites and people through the services; everything else in bulk.
    `history_days` is how long ago the first site opened: the longer, the more visits due."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from core.channels import Channel
    from core.clock import today
    from crf.entry import _scored
    from crf.loading import forms_load, shipped_spec_files
    from crf.models import NotDone, Query, Response
    from crf.selectors import current_definitions, schedule_of
    from crf.validation import check
    from demo.answers import answers_for
    from randomisation.models import Allocation
    from sites.lifecycle import site_move_status, site_register, site_update
    from sites.memberships import membership_grant
    from trial.bootstrap import trial_bootstrap
    from trial.config import config_of
    from trial.consents import consent_version_activate, consent_version_create
    from trial.identifiers import family_identifier, screening_identifier
    from trial.models import ConsentRecord, Family, Participant, ScreeningRecord, Trial, Withdrawal

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    t = _tick("migrate", t0)
    day = today()
    start = day - timedelta(days=history_days)
    trial = trial_bootstrap(
        path=definition,
        username="manager",
        email="m@example.test",
        password="bench-Password-2026",
        starts_on=start - timedelta(days=60),
    )
    manager = trial.memberships.get().user
    make = get_user_model().objects.create_user
    stats = make("stats.unblind", "s@example.test", "bench-Password-2026")
    coord = make("coord", "c@example.test", "bench-Password-2026")
    pi = make("pi", "p@example.test", "bench-Password-2026")
    ch = Channel.COMMAND
    membership_grant(
        actor=manager,
        channel=ch,
        user=stats,
        trial=trial,
        role="statistician_unblinded",
        site=None,
        starts_on=start,
    )
    version = consent_version_create(
        trial=trial,
        actor=manager,
        channel=ch,
        version="1",
        ethics_approval_date=start - timedelta(days=30),
        items=["take_part", "video", "records", "inform_gp", "future_research"],
    )
    site_rows = []
    for n in range(sites):
        code = LETTERS[n // 26 % 26] + LETTERS[n % 26] + "X"
        site = site_register(
            trial=trial,
            actor=manager,
            channel=ch,
            code=code,
            name=f"Site {code}",
            nhs_trust="Trust",
            local_authority="Council",
            recruitment_target=max(10, round(1.5 * families / sites)),
        )
        for user, role in ((coord, "site_coordinator"), (pi, "principal_investigator")):
            membership_grant(
                actor=manager,
                channel=ch,
                user=user,
                trial=trial,
                role=role,
                site=site,
                starts_on=start,
            )
        site = site_update(site=site, actor=manager, channel=ch, principal_investigator=pi)
        site = site_move_status(
            site=site,
            actor=manager,
            channel=ch,
            to_status="approved",
            effective_date=start - timedelta(days=20),
            ethics_approval_date=start - timedelta(days=30),
            rnd_approval_date=start - timedelta(days=25),
        )
        opens = start + timedelta(days=(n * 7) % 200)
        site = site_move_status(
            site=site, actor=manager, channel=ch, to_status="active", effective_date=opens
        )
        consent_version_activate(
            version=version,
            site=site,
            effective_from=start - timedelta(days=20),
            actor=manager,
            channel=ch,
        )
        site_rows.append((site, opens))
    forms_load(trial=trial, paths=shipped_spec_files(), actor=manager, channel=ch)
    Trial.objects.filter(pk=trial.pk).update(randomisation_mode="live")
    trial.refresh_from_db()
    t = _tick(f"trial, {sites} sites (services), forms loaded", t)

    rng = random.Random(2026)
    config = config_of(trial)
    criteria = [c.key for c in config.eligibility.criteria] + ["child_age"]
    declines, others = list(config.decline_reasons), list(config.other_reasons)
    referrers = list(config.referrers)
    excluded = families * 2 // 5
    screenings, enrolled_at = [], []
    counters = {}
    for n in range(families + excluded):
        site, opens = site_rows[n % sites]
        counters[site.pk] = counters.get(site.pk, 0) + 1
        span = max((day - opens).days - 20, 1)
        referral = opens + timedelta(days=rng.randrange(span))
        kind = "consented" if n < families else ("not_eligible", "declined", "other")[n % 3]
        reason = ""
        if kind == "declined":
            reason = declines[n % len(declines)]
        elif kind == "other":
            reason = others[n % len(others)]
        screenings.append(
            ScreeningRecord(
                trial=trial,
                site=site,
                identifier=screening_identifier(trial.code, site.code, counters[site.pk]),
                referral_date=referral,
                referrer_type=referrers[n % len(referrers)],
                child_born=n % 5 != 0,
                child_age_days=None if n % 5 == 0 else 30 + n % 600,
                child_age_months=None if n % 5 == 0 else (30 + n % 600) // 30,
                gestation_days=210 if n % 5 == 0 else None,
                age_band="under_6m" if n % 5 == 0 or (30 + n % 600) < 180 else "6_to_24m",
                answers={},
                eligible=kind != "not_eligible",
                failed_criterion=criteria[n % len(criteria)] if kind == "not_eligible" else "",
                outcome=kind,
                outcome_reason=reason,
                outcome_note="Described" if reason == "other" else "",
                outcome_date=referral + timedelta(days=9),
                recorded_by=coord,
            )
        )
        enrolled_at.append(min(referral + timedelta(days=7), day))
    ScreeningRecord.objects.bulk_create(screenings, batch_size=BATCH)
    t = _tick(f"{len(screenings):,} screening records ({excluded:,} excluded)", t)

    fam_rows = []
    numbers = {}
    for n, s in enumerate(screenings[:families]):
        numbers[s.site_id] = numbers.get(s.site_id, 0) + 1
        fam_rows.append(
            Family(
                trial=trial,
                site=s.site,
                identifier=family_identifier(trial.code, s.site.code, numbers[s.site_id]),
                sequence=numbers[s.site_id],
                screening=s,
                legal_status="cp_plan" if n % 3 else "pre_proceedings",
                enrolled_on=enrolled_at[n],
                enrolled_by=coord,
            )
        )
    fams = Family.objects.bulk_create(fam_rows, batch_size=BATCH)
    parents = Participant.objects.bulk_create(
        [
            Participant(family=f, role="parent", number=1, parental_responsibility=True)
            for f in fams
        ],
        batch_size=BATCH,
    )
    Participant.objects.bulk_create(
        [Participant(family=f, role="child", number=1) for f in fams], batch_size=BATCH
    )
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                family=f,
                participant=p,
                version=version,
                consent_date=f.enrolled_on,
                taken_by=coord,
                method="in_person",
                answers=dict.fromkeys(version.items, True),
                recorded_by=coord,
            )
            for f, p in zip(fams, parents, strict=True)
        ],
        batch_size=BATCH,
    )
    t = _tick(f"{len(fams):,} families, participants and consents", t)

    # Nine in ten randomised, a week after enrolment, both arms in turn within each site.
    randomised = {}
    allocations = []
    for n, f in enumerate(fams):
        if n % 10 == 9 or f.enrolled_on > day - timedelta(days=10):
            continue
        on = f.enrolled_on + timedelta(days=5)
        randomised[f.pk] = on
        allocations.append(
            Allocation(
                family=f,
                mode="live",
                arm="RECONNECT" if n % 2 else "USUAL",
                factor_values={"site": f.site.code, "legal_status": f.legal_status},
                randomised_by=coord,
            )
        )
    Allocation.objects.bulk_create(allocations, batch_size=BATCH)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE randomisation_allocation a SET randomised_at = "
            "(f.enrolled_on + 5)::timestamp + interval '11 hours' "
            "FROM trial_family f WHERE f.id = a.family_id"
        )
    levels = [w.key for w in config.withdrawal_levels]
    withdrawn = {}
    rows = []
    for n, (fid, on) in enumerate(randomised.items()):
        if n % 20 == 7 and (day - on).days > 60:
            level = levels[n % len(levels)]
            withdrawn[fid] = (level, on + timedelta(days=(day - on).days // 2))
            rows.append(
                Withdrawal(
                    family_id=fid,
                    level=level,
                    withdrawal_date=withdrawn[fid][1],
                    reason="Bench",
                    recorded_by=coord,
                )
            )
    Withdrawal.objects.bulk_create(rows, batch_size=BATCH)
    t = _tick(f"{len(allocations):,} allocations, {len(rows):,} withdrawals", t)

    definitions = current_definitions(trial)
    filled = {}
    for form, definition in definitions.items():
        values = answers_for(definition.spec, day, rng, fixed={"item_6": 0})
        checked = check(definition.spec, values)
        scores, _alerts = _scored(definition, checked)
        filled[form] = (definition, checked.values, scores)
    stops = {w.key: set(w.stops) for w in config.withdrawal_levels}
    schedule = schedule_of(trial)
    responses, not_done = [], []
    written = 0

    def flush() -> None:
        nonlocal written
        Response.objects.bulk_create(responses, batch_size=BATCH)
        written += len(responses)
        responses.clear()

    for n, f in enumerate(fams):
        on = randomised.get(f.pk)
        for visit in schedule.visits:
            if visit.before_randomisation:
                dated = f.enrolled_on + timedelta(days=2)
            else:
                if on is None:
                    break
                _earliest, target, latest = visit.window(on)
                if target > day or (n + visit.day) % 11 == 0:
                    continue  # not yet due, or overdue
                dated = target + timedelta(days=rng.randrange(-10, 11))
                if (n + visit.day) % 17 == 0:
                    dated = latest + timedelta(days=5)  # out of window
                dated = min(dated, day)
            for form in visit.forms:
                w = withdrawn.get(f.pk)
                if w and dated >= w[1] and stops[w[0]] & set(filled[form][0].spec.sources):
                    continue
                if not visit.before_randomisation and (n + len(form)) % 50 == 0:
                    not_done.append(
                        NotDone(
                            family=f, visit=visit.key, form=form, reason="Bench", recorded_by=coord
                        )
                    )
                    continue
                definition, values, scores = filled[form]
                if form == "primary_outcome":
                    values = {**values, "living_with_birth_parent": n % 3 != 0}
                verified = n % 5 == 0
                responses.append(
                    Response(
                        family=f,
                        definition=definition,
                        form=form,
                        visit=visit.key,
                        status="verified" if verified else "complete",
                        values=values,
                        scores=scores,
                        dated_on=dated,
                        entered_by=coord,
                        updated_by=coord,
                        verified_by=manager if verified else None,
                        verified_at=timezone.now() if verified else None,
                    )
                )
        if on and n % 33 == 0 and (day - on).days > 30:
            definition, values, scores = filled["sae"]
            responses.append(
                Response(
                    family=f,
                    definition=definition,
                    form="sae",
                    visit="",
                    number=1,
                    status="complete",
                    values=values,
                    scores=scores,
                    dated_on=on + timedelta(days=(day - on).days // 3),
                    entered_by=coord,
                    updated_by=coord,
                )
            )
        if len(responses) >= 4 * BATCH:
            flush()
    flush()
    NotDone.objects.bulk_create(not_done, batch_size=BATCH)
    t = _tick(f"{written:,} responses, {len(not_done):,} marked not done", t)

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO crf_query (response_id, family_id, site_id, field, text, status, "
            "automatic, raised_by_id, raised_at, closed_at) "
            "SELECT r.id, r.family_id, f.site_id, 'item_4', 'Please check item 4.', "
            "(ARRAY['open','answered','closed'])[1 + r.id %% 3], r.id %% 4 = 0, %s, "
            "now() - (r.id %% 200) * interval '1 day', "
            "CASE WHEN r.id %% 3 = 2 THEN now() - (r.id %% 200) * interval '1 day' "
            "+ interval '3 days' END "
            "FROM crf_response r JOIN trial_family f ON f.id = r.family_id "
            "WHERE r.id %% 40 = 1 AND r.status = 'complete'",
            [manager.pk],
        )
    # As a server with autovacuum would have it: the visibility map set (so index-only scans
    # read no table pages) and the planner's statistics fresh. VACUUM runs outside a
    # transaction, so on a connection of its own.
    import psycopg
    from django.db import connection as django_connection

    settings_dict = django_connection.settings_dict
    with psycopg.connect(
        dbname=settings_dict["NAME"],
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        autocommit=True,
    ) as conn:
        conn.execute("VACUUM (ANALYZE)")
    t = _tick(f"{Query.objects.count():,} queries; VACUUM (ANALYZE)", t)
    return {"manager": manager.pk, "stats": stats.pk, "trial": trial.pk}


def _load() -> str:
    """The machine's load, printed with the figures: on a shared machine a request's time is
    roughly its processor time multiplied by how busy the machine is."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def _resolve(name: str) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name)
    except NoReverseMatch:
        return None


class _Counter:
    """An execute wrapper that notes each statement run."""

    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    def __call__(self, execute, sql, params, many, context):
        self.seen.append(sql)
        return execute(sql, params, many, context)


def _one_site_changed():
    """A change at one site before each request, the next site each time: the site
    coordinator marks a form not done through the service (its ledger event written and
    sealed, as the sealer does within a tenth of a second), so that the report's figures
    kept for that site no longer hold and it is counted again."""
    import itertools

    from django.contrib.auth import get_user_model

    from audit.sealing import seal_waiting
    from core.channels import Channel
    from core.errors import TrialError
    from crf.entry import form_not_done
    from crf.selectors import schedule_of
    from sites.memberships import delegation_grant
    from sites.models import Membership, Site
    from trial.models import Family

    coord = get_user_model().objects.get(username="coord")
    manager = get_user_model().objects.get(username="manager")
    trial = Site.objects.first().trial
    # The coordinator enters data at every site: the duty delegated once, by the manager.
    for membership in Membership.objects.filter(user=coord).exclude(delegations__duty="enter_data"):
        delegation_grant(
            membership=membership, duty="enter_data", actor=manager, channel=Channel.COMMAND
        )
    seal_waiting()
    slots = [(v.key, f) for v in schedule_of(trial).visits for f in v.forms]
    randomising = Site.objects.filter(families__allocations__isnull=False).distinct()
    sites = itertools.cycle(list(randomising.order_by("code")))

    def change() -> None:
        site = next(sites)
        oldest_first = Family.objects.filter(site=site, allocations__isnull=False).order_by(
            "allocations__randomised_at"
        )
        for family in oldest_first:
            for visit, form in slots:
                try:
                    form_not_done(
                        family=family,
                        form=form,
                        visit=visit,
                        reason="Bench: the family could not be reached.",
                        actor=coord,
                        channel=Channel.COMMAND,
                    )
                except TrialError:
                    continue
                seal_waiting()
                return
        raise RuntimeError(f"no form left to mark not done at {site.code}")

    return change


# Reports that keep each site's figures between views (sites.kept): timed afresh (nothing
# kept, what every view cost before), with nothing changed, and after a change at one site.
KEPT = {
    name
    for name in NAMES
    if name.removeprefix("api-").removeprefix("report-").split("-")[0]
    in ("consort", "recruitment", "quality", "balance")
}


def time_pages(users: dict, runs: int) -> None:
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    # A refusal is a figure here (a report closed to the viewer), not a log entry.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    change = _one_site_changed()
    print(
        f"\n{'page':<30} {'viewer':<34} {'min':>7} {'median':>7} {'max':>7} {'queries':>8}  "
        f"goal {GOAL_MS} ms   {_load()}"
    )
    for name in NAMES:
        path = _resolve(name)
        if path is None:
            print(f"{name:<30} not present")
            continue
        for label, pk in users.items():
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(
                get_user_model().objects.get(pk=pk),
                backend="django.contrib.auth.backends.ModelBackend",
            )
            cache.clear()
            queries: list[str] = []  # a wrapper counts: each request resets Django's log
            with connection.execute_wrapper(_Counter(queries)):
                answer = client.get(path)  # warm-up, and the queries one request costs
            if answer.status_code != 200:
                refused = " (refused to this viewer)" if answer.status_code in (403, 404) else ""
                print(f"{name:<30} {label:<34} answered {answer.status_code}{refused}")
                continue
            ways = [("", None)]
            if name in KEPT:
                ways = [("afresh", cache.clear), ("nothing changed", None)]
                ways.append(("one site changed", change))
            for way, before in ways:
                times = []
                for _ in range(runs):
                    if before is not None:
                        before()
                    t0 = time.perf_counter()
                    client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                median = statistics.median(times)
                verdict = "ok" if median <= GOAL_MS else "OVER"
                viewer = f"{label}, {way}" if way else label
                print(
                    f"{name:<30} {viewer:<34} {min(times):>7.0f} {median:>7.0f} "
                    f"{max(times):>7.0f} {len(queries):>8}  {verdict}",
                    flush=True,
                )


def time_dmc(users: dict) -> None:
    from django.contrib.auth import get_user_model

    from core.channels import Channel
    from trial.models import Trial

    try:
        from reports.dmc import build_dmc_report, dmc_report_request
        from reports.models import DmcReport
    except ImportError:
        print("\nDMC report build: not present (reports.dmc.build_dmc_report)")
        return
    stats = get_user_model().objects.get(pk=users["unblinded stats"])
    trial = Trial.objects.get()
    print(f"\n{'DMC report PDF':<30} {'seconds':>8}  goal {DMC_GOAL_S} s   {_load()}")
    for part in DmcReport.Part.values:
        # Requested through the service (its job queued to the in-memory broker, not run),
        # then built here, as the worker would.
        report = dmc_report_request(trial=trial, actor=stats, channel=Channel.COMMAND, part=part)
        t0 = time.perf_counter()
        status = build_dmc_report(report.pk)
        took = time.perf_counter() - t0
        report.refresh_from_db()
        size = getattr(report, "size", None) or ""
        verdict = ("ok" if took <= DMC_GOAL_S else "OVER") if status == "done" else status
        print(f"{part:<30} {took:>8.1f}  {verdict} {f'({size:,} bytes)' if size else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--families", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the database for a look")
    parser.add_argument(
        "--reuse", action="store_true", help="time a database kept by --keep, without building"
    )
    parser.add_argument("--only", nargs="*", help="time these URL names only")
    args = parser.parse_args()
    if args.reuse:
        args.keep = True
    if args.only:
        NAMES[:] = [n for n in NAMES if n in args.only]
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (a database of its own is made).")
    if args.reuse:
        setup_django()
        from django.contrib.auth import get_user_model

        people = get_user_model().objects.filter(username__in=["manager", "stats.unblind"])
        built = {u.username.split(".")[0]: u.pk for u in people}
    else:
        ensure_database(url)
        setup_django()
        print(f"Building {args.sites} sites and {args.families:,} families on {url} ...")
        t0 = time.perf_counter()
        built = build(args.sites, args.families)
        print(f"  {'built in':<58} {time.perf_counter() - t0:>7.1f} s")
    users = {"trial manager": built["manager"], "unblinded stats": built["stats"]}
    try:
        time_pages(users, args.runs)
        if not args.only or "dmc" in args.only:
            time_dmc(users)
    finally:
        print(f"\nDone: {_load()}")
        from django.db import connections

        connections.close_all()
        if not args.keep:
            import psycopg

            with psycopg.connect(f"{url.rsplit('/', 1)[0]}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


if __name__ == "__main__":
    main()
