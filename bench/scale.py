"""National-scale load test on PostgreSQL (not a test).

Builds two databases with the same 100 sites: a small one (200 families) and a large one
(20,000 families: about 1 M responses and 5 M ledger events), then runs the same locust
scenario (bench/locustfile.py) for the same time against gunicorn serving each, and prints
p50 and p95 per page and endpoint at both sizes with their ratio, flagging a p95 at the
large size over 1.5 x the small one.

The data are reports_bench's builder (screening, families, allocations, withdrawals,
responses, queries, SAEs, in bulk) on the ReConnect definition with quarterly follow-up
visits added up to 48 months, so that a family has about 50 forms; then, through the
services, one coordinator, assessor, monitor and principal investigator per load site with
their duties; then the ledger: events for every response (entered, changed with a reason,
verified) chained from the chain head with `audit.chain.link_hash` over `chained_fields`,
written with COPY (the ledger's secondary indexes are dropped for the load and built again
after it), and checked with `manage.py audit_verify`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/scale.py [--families-small 200] [--families-large 20000] \
        [--seconds 90] [--users 20] [--keep] [--reuse]

DATABASE_URL names the server; the databases are scale_small and scale_large, dropped at
the end unless --keep; --reuse runs the load on kept ones without building them again
(building one that is not there).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from serving import environment, gunicorn  # noqa: E402

PYTHON = str(ROOT / ".venv/bin/python")
PASSWORD = "bench-Password-2026"
SITES = 100
LOAD_SITES = 10  # the sites whose staff the locust users sign in as
EVENTS_PER_FAMILY = 250  # 5 M events at 20,000 families
FLAG = 1.5
SIGN_IN = ("/accounts/login/", "/api/v1/auth/token/")
# Quarterly follow-up between ReConnect's own visits, and on to 48 months: more forms per
# family, as a longer trial would have. (key, label, day, days either side)
EXTRA_VISITS = [
    ("month_3", "3 months", 91, 28),
    ("month_9", "9 months", 273, 28),
    ("month_15", "15 months", 455, 28),
    ("month_21", "21 months", 637, 28),
    ("month_24", "24 months", 728, 42),
    ("month_30", "30 months", 910, 42),
    ("month_36", "36 months", 1092, 42),
    ("month_42", "42 months", 1274, 42),
    ("month_48", "48 months", 1456, 42),
]
HISTORY_DAYS = 1500


def _tick(label: str, since: float) -> float:
    now = time.perf_counter()
    print(f"  {label:<58} {now - since:>7.1f} s", flush=True)
    return now


def long_definition(folder: Path) -> Path:
    """ReConnect's definition with the extra follow-up visits, in visit order."""
    import yaml

    data = yaml.safe_load((ROOT / "trial/definitions/reconnect.yaml").read_text())
    schedule = data["schedule"]["visits"]
    follow_up = next(v for v in schedule if v["key"] == "month_6")["forms"]
    for key, label, day, either in EXTRA_VISITS:
        schedule.append(
            {
                "key": key,
                "label": label,
                "day": day,
                "before": either,
                "after": either,
                "forms": list(follow_up),
            }
        )
    schedule.sort(key=lambda v: v["day"])
    path = folder / "reconnect-long.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def staff(trial, manager) -> None:
    """One coordinator, assessor, monitor and PI per load site, through the services."""
    from django.contrib.auth import get_user_model

    from core.channels import Channel
    from core.clock import today
    from sites.memberships import delegation_grant, membership_grant

    make = get_user_model().objects.create_user
    since = today() - timedelta(days=HISTORY_DAYS)
    roles = {
        "coord": ("site_coordinator", "enter_data"),
        "assessor": ("outcome_assessor", "enter_data"),
        "monitor": ("monitor", None),
        "pi": ("principal_investigator", "sign"),
    }
    for site in trial.sites.order_by("code")[:LOAD_SITES]:
        for prefix, (role, duty) in roles.items():
            user = make(f"{prefix}.{site.code.lower()}", f"{prefix}@example.test", PASSWORD)
            membership = membership_grant(
                actor=manager, channel=Channel.COMMAND, user=user, trial=trial, role=role,
                site=site, starts_on=since,
            )  # fmt: skip
            if duty:
                delegation_grant(
                    membership=membership, duty=duty, actor=manager, channel=Channel.COMMAND,
                    starts_on=since,
                )  # fmt: skip


def _secondary_indexes(cursor) -> list[tuple[str, str]]:
    """(drop, create) statements of the ledger's indexes but its primary key."""
    cursor.execute(
        "SELECT i.relname, c.conname, pg_get_indexdef(i.oid), pg_get_constraintdef(c.oid) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "LEFT JOIN pg_constraint c ON c.conindid = i.oid "
        "WHERE x.indrelid = 'audit_auditevent'::regclass AND NOT x.indisprimary"
    )
    found = []
    for index, constraint, index_sql, constraint_sql in cursor.fetchall():
        if constraint:
            found.append(
                (
                    f'ALTER TABLE audit_auditevent DROP CONSTRAINT "{constraint}"',
                    f'ALTER TABLE audit_auditevent ADD CONSTRAINT "{constraint}" {constraint_sql}',
                )
            )
        else:
            found.append((f'DROP INDEX "{index}"', index_sql))
    return found


def ledger_copy(*, target: int, coordinator, manager) -> int:
    """About `target` events for the responses, oldest first, continuing the chain."""
    import psycopg
    from django.db import connection
    from django.utils import timezone

    from audit.chain import link_hash
    from audit.events import EditAfter, EventType
    from audit.models import CHAINED_FIELDS, AuditEvent, ChainHead, SealedBatch, chained_fields
    from audit.sealing import batched_from_here, seal_waiting
    from crf.models import Response

    per_response = target / max(Response.objects.count(), 1)
    seal_waiting()  # what the services wrote is in the chain before the copy continues it
    head = ChainHead.objects.get()
    # Numbers continue after the last one given; places in the chain after the head.
    prev, pos = head.last_hash, head.last_seq
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    first_pos = pos + 1
    columns = (*CHAINED_FIELDS, "pos", "prev_hash", "hash")
    settings = connection.settings_dict
    reader = psycopg.connect(
        dbname=settings["NAME"], host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432, user=settings["USER"],
    )  # fmt: skip
    with connection.cursor() as cursor:
        indexes = _secondary_indexes(cursor)
        for drop, _create in indexes:
            cursor.execute(drop)
    owed, day, tick = 0.0, None, 0
    with (
        reader.cursor(name="responses") as rows,
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(
            f"COPY audit_auditevent ({', '.join(columns)}) FROM STDIN"
        ) as copy,
    ):
        rows.itersize = 20_000
        rows.execute(
            "SELECT r.id, r.form, r.visit, r.dated_on, r.status, f.identifier, s.id, s.code "
            "FROM crf_response r JOIN trial_family f ON f.id = r.family_id "
            "JOIN sites_site s ON s.id = f.site_id ORDER BY r.dated_on, r.id"
        )
        for rid, form, visit, dated, status, family, site_id, site_code in rows:
            owed += per_response
            count = max(int(owed), 1)
            owed -= count
            if dated != day:
                day, tick = dated, 0
            for i in range(count):
                seq += 1
                pos += 1
                tick += 1
                actor, role = coordinator, "site_coordinator"
                changes, reason, edit_after = {}, "", ""
                if i == 0:
                    event = EventType.RESPONSE_ENTERED
                    changes = {"form": [None, form], "visit": [None, visit]}
                elif i == count - 1 and status == "verified":
                    event, actor, role = EventType.RESPONSE_VERIFIED, manager, "trial_manager"
                    changes = {"status": ["complete", "verified"]}
                else:
                    event = EventType.RESPONSE_CHANGED
                    changes = {f"item_{(rid + i) % 10 + 1}": [i % 4, (i + 1) % 4]}
                    reason, edit_after = "transcription error corrected", EditAfter.COMPLETED
                values = {
                    "seq": seq,
                    "at": datetime.combine(dated, day_time(9), tzinfo=UTC)
                    + timedelta(seconds=tick),
                    "actor_id": actor.pk,
                    "actor_username": actor.username,
                    "actor_role": role,
                    "site_id": site_id,
                    "site_code": site_code,
                    "channel": "web",
                    "event_type": str(event),
                    "object_type": "crf.Response",
                    "object_id": str(rid),
                    "family": family,
                    "changes": changes,
                    "reason": reason,
                    "edit_after": str(edit_after),
                }
                digest = link_hash(prev, chained_fields(values))
                copy.write_row(
                    [
                        *(
                            json.dumps(changes) if c == "changes" else values[c]
                            for c in columns[:-3]
                        ),
                        pos,
                        prev,
                        digest,
                    ]
                )
                prev = digest
    reader.close()
    ChainHead.objects.filter(pk=1).update(last_seq=pos, last_hash=prev)
    # The copy is one checkpoint, as the sealer would have recorded its batches.
    SealedBatch.objects.create(
        first_pos=first_pos, last_pos=pos, last_hash=prev, sealed_at=timezone.now()
    )
    batched_from_here()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _drop, create in indexes:
            cursor.execute(create)
    return pos - head.last_seq


def vacuum() -> None:
    """As autovacuum would leave a server (VACUUM runs outside a transaction)."""
    import psycopg
    from django.db import connection

    s = connection.settings_dict
    with psycopg.connect(
        dbname=s["NAME"], host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"],
        autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute("VACUUM (ANALYZE)")


def build(families: int) -> None:
    from django.contrib.auth import get_user_model
    from reports_bench import build as build_trial

    from trial.models import Trial

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        build_trial(
            SITES, families, definition=long_definition(Path(folder)), history_days=HISTORY_DAYS
        )
    trial = Trial.objects.get()
    users = get_user_model().objects
    manager, coordinator = users.get(username="manager"), users.get(username="coord")
    t = time.perf_counter()
    staff(trial, manager)
    t = _tick(f"staff of {LOAD_SITES} load sites (services)", t)
    events = ledger_copy(
        target=EVENTS_PER_FAMILY * families, coordinator=coordinator, manager=manager
    )
    t = _tick(f"{events:,} ledger events (COPY, chained, indexes rebuilt)", t)
    vacuum()
    t = _tick("VACUUM (ANALYZE)", t)
    # The command's system checks refuse a waived second factor with DEBUG off; the
    # verification has nothing to do with it.
    answer = subprocess.run(
        [PYTHON, "manage.py", "audit_verify"],
        cwd=ROOT,
        env={**os.environ, "TWO_FACTOR_WAIVED": "0"},
        capture_output=True,
        text=True,
    )
    last = (answer.stdout.strip().splitlines() or [answer.stderr.strip()])[-1]
    t = _tick(f"manage.py audit_verify: {last[:40]}", t)
    if answer.returncode != 0:
        sys.exit(f"audit_verify failed:\n{answer.stdout}\n{answer.stderr}")
    print(f"  {'built in':<58} {time.perf_counter() - t0:>7.1f} s", flush=True)


def _gaps(families, definitions, schedule) -> list[tuple[int, str, str]]:
    """(family, visit, form) a coordinator may enter: due, and neither entered nor marked not
    done. A visit left overdue by the builder leaves all its forms."""
    from core.clock import today
    from crf.models import NotDone, Response

    ids = [f.pk for f in families]
    done = set(
        Response.objects.filter(family_id__in=ids).values_list("family_id", "visit", "form")
    ) | set(NotDone.objects.filter(family_id__in=ids).values_list("family_id", "visit", "form"))
    gaps = []
    for family in families.prefetch_related("allocations"):
        randomised = family.allocations.all()[0].randomised_at.date()
        for visit in schedule.visits:
            if visit.before_randomisation or visit.window(randomised)[1] > today():
                continue
            gaps += [
                (family.pk, visit.key, form)
                for form in visit.forms
                if (family.pk, visit.key, form) not in done
                and "site_coordinator" in definitions[form].spec.entered_by
            ]
    return gaps


def fixtures(path: Path) -> None:
    """What the locust users act on, per load site: families to open, forms left to enter,
    outcome forms to correct, casebooks ready to sign (no draft, no open query), and valid
    answers for every form."""
    import random

    from django.core.serializers.json import DjangoJSONEncoder
    from django.db.models import Exists, OuterRef

    from core.clock import today
    from crf.models import Query, Response
    from crf.selectors import current_definitions, schedule_of
    from demo.answers import answers_for
    from trial.models import Family, Trial, Withdrawal

    trial = Trial.objects.get()
    definitions, schedule = current_definitions(trial), schedule_of(trial)
    sites = {}
    for site in trial.sites.order_by("code")[:LOAD_SITES]:
        families = (
            Family.objects.filter(site=site, allocations__isnull=False)
            .exclude(Exists(Withdrawal.objects.filter(family=OuterRef("pk"))))
            .order_by("pk")
        )
        identifiers = dict(families.values_list("pk", "identifier")[:200])
        ready = list(
            families.filter(pk__in=identifiers, responses__isnull=False)
            .exclude(Exists(Response.objects.filter(family=OuterRef("pk"), status="draft")))
            .exclude(Exists(Query.objects.filter(family=OuterRef("pk"), status="open")))
            .distinct()
            .values_list("pk", flat=True)[:100]
        )
        # Half the ready casebooks are kept for signing: a form entered or changed in one
        # (and any query it raises) would stop it being signed.
        signable = ready[::2]
        others = [pk for pk in identifiers if pk not in set(signable)]
        outcomes = list(
            Response.objects.filter(
                family_id__in=others, form="core10", status__in=["complete", "verified"]
            )
            .order_by("pk")
            .values_list("family_id", "pk")[:200]
        )
        if others and signable and outcomes:  # a small trial leaves some sites idle
            sites[site.code.lower()] = {
                "families": others,
                "gaps": _gaps(families.filter(pk__in=others), definitions, schedule),
                "identifiers": {str(pk): identifiers[pk] for pk in others},
                "outcomes": outcomes,
                "signable": signable,
            }
    rng = random.Random(1)
    values = {
        # CORE-10's item 6 is the risk item: 0 raises no alert.
        form: answers_for(d.spec, today(), rng, fixed={"item_6": 0} if form == "core10" else None)
        for form, d in definitions.items()
    }
    data = {"password": PASSWORD, "sites": sites, "values": values}
    data["alone"] = alone(data)
    path.write_text(json.dumps(data, cls=DjangoJSONEncoder))


def alone(data: dict, runs: int = 5) -> dict[str, float]:
    """Each request of the scenario on its own (Django's test Client, one load site's staff,
    no other request of ours running): the median ms of `runs` after a warm-up, so that a
    p95 under load can be read beside what the request itself costs."""
    import statistics

    from django.contrib.auth import get_user_model
    from django.test import Client

    code, site = next(iter(data["sites"].items()))
    # New forms go where most are left to enter (a small trial's first site may have none).
    gap_code = max(data["sites"], key=lambda c: len(data["sites"][c]["gaps"]))
    gaps = data["sites"][gap_code]["gaps"]
    family, (outcome_family, outcome) = site["families"][0], site["outcomes"][0]
    identifier = site["identifiers"][str(family)]
    signable = site["signable"][0]
    patch = {"values": {"item_1": 1}, "reason": "Transcription error corrected"}
    requests = [
        ("GET / (work list)", "coord", "get", "/", None),
        ("GET /api/v1/worklist/", "coord", "get", "/api/v1/worklist/", None),
        ("GET /families/[id]/", "coord", "get", f"/families/{family}/", None),
        ("POST /api/v1/families/[id]/responses/", f"coord.{gap_code}", "post", None, None),
        (
            "GET /api/v1/families/[id]/responses/?form=",
            "assessor", "get", f"/api/v1/families/{outcome_family}/responses/?form=core10", None,
        ),
        (
            "PATCH /api/v1/families/[id]/responses/[id]/",
            "assessor", "patch", f"/api/v1/families/{outcome_family}/responses/{outcome}/", patch,
        ),
        ("GET /audit/", "monitor", "get", "/audit/", None),
        ("GET /audit/?family=", "monitor", "get", f"/audit/?family={identifier}", None),
        ("GET /api/v1/audit/events/", "monitor", "get", "/api/v1/audit/events/", None),
        ("GET / (PI's work list)", "pi", "get", "/", None),
        ("GET /families/[id]/casebook/", "pi", "get", f"/families/{signable}/casebook/", None),
        (
            "POST /api/v1/families/[id]/signatures/",
            "pi", "post", f"/api/v1/families/{signable}/signatures/",
            {"password": PASSWORD, "meaning": "approved"},
        ),
    ]  # fmt: skip
    users = get_user_model().objects
    found = {}
    for name, prefix, method, path, body in requests:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(
            users.get(username=prefix if "." in prefix else f"{prefix}.{code}"),
            backend="django.contrib.auth.backends.ModelBackend",
        )
        times = []
        for n in range(runs + 1):
            if path is None:  # a new form each time, from the site's gaps
                if not gaps:
                    break
                gap_family, visit, form = gaps.pop()
                call = {
                    "path": f"/api/v1/families/{gap_family}/responses/",
                    "data": {"form": form, "visit": visit, "values": data["values"][form]},
                }
            else:
                call = {"path": path, **({"data": body} if body else {})}
            t0 = time.perf_counter()
            answer = getattr(client, method)(**call, content_type="application/json")
            if n:
                times.append((time.perf_counter() - t0) * 1000)
            if answer.status_code >= 400:
                print(f"  {name}: answered {answer.status_code}", flush=True)
        if times:
            found[name] = statistics.median(times)
    return found


def _exists(url: str) -> bool:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


def prepare(args) -> None:
    """In a process of its own: Django reads DATABASE_URL once."""
    from audit_bench import ensure_database
    from randomise_bench import setup_django

    url = os.environ["DATABASE_URL"]
    build_it = not args.reuse or not _exists(url)
    if build_it:
        ensure_database(url)
    setup_django()
    if build_it:
        print(f"Building {SITES} sites and {args.families:,} families ...", flush=True)
        build(args.families)
    from audit.models import ChainHead
    from crf.models import Response
    from trial.models import Family

    print(
        f"  {Family.objects.count():,} families, {Response.objects.count():,} responses, "
        f"{ChainHead.objects.get().last_seq:,} ledger events",
        flush=True,
    )
    fixtures(Path(args.fixtures))


def load(url: str, fixtures_path: Path, args, csv_prefix: Path) -> dict[str, dict]:
    """gunicorn on the database, the locust scenario against it; stats by request name."""
    env = environment(url)
    with gunicorn(url, args.workers) as port:
        spawn = max(args.users // 10, 1)  # ten seconds of spawning and signing in
        run = subprocess.run(
            [str(ROOT / ".venv/bin/locust"), "-f", str(ROOT / "bench/locustfile.py"),
             "--headless", "--users", str(args.users), "--spawn-rate", str(spawn),
             "--run-time", f"{args.seconds + 10}s", "--reset-stats", "--only-summary",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(csv_prefix),
             "--loglevel", "WARNING", "--stop-timeout", "10",
             *(["--exclude-tags", *args.exclude_tags] if args.exclude_tags else [])],
            cwd=ROOT, env={**env, "SCALE_FIXTURES": str(fixtures_path)},
            capture_output=True, text=True,
        )  # fmt: skip
        if not Path(f"{csv_prefix}_stats.csv").exists():
            sys.exit(f"locust wrote no stats:\n{run.stdout}\n{run.stderr}")
    with open(f"{csv_prefix}_stats.csv", newline="") as f:
        # Signing in is each user's start, not the load: left out.
        rows = [
            r
            for r in csv.DictReader(f)
            if r["Name"] != "Aggregated" and not r["Name"].endswith(SIGN_IN)
        ]
    return {
        r["Name"]: {
            "count": int(r["Request Count"]),
            "failures": int(r["Failure Count"]),
            "p50": float(r["50%"]),
            "p95": float(r["95%"]),
        }
        for r in rows
    }


def table(runs: list[tuple[dict, dict]], sizes: tuple[int, int]) -> list[str]:
    """One row per page or endpoint: under load (n, p50, p95) and alone (median) at each
    size; a p95 ratio over FLAG is flagged."""
    (small, small_alone), (large, large_alone) = runs
    lines = [
        f"{'':<44} {f'{sizes[0]:,} families (ms)':>26}   {f'{sizes[1]:,} families (ms)':>26}",
        f"{'request':<44} {'n':>5} {'p50':>6} {'p95':>6} {'alone':>6}   "
        f"{'n':>5} {'p50':>6} {'p95':>6} {'alone':>6}  {'p95 ratio':>9}",
    ]
    flagged = []
    for name in sorted(set(small) | set(large) | set(small_alone) | set(large_alone)):
        a, b = small.get(name), large.get(name)
        cells = []
        for stats, by_itself in ((a, small_alone), (b, large_alone)):
            loaded = (
                f"{stats['count']:>5} {stats['p50']:>6.0f} {stats['p95']:>6.0f}"
                if stats
                else f"{'-':>5} {'':>13}"
            )
            cells.append(f"{loaded} {by_itself.get(name, float('nan')):>6.0f}")
        ratio = b["p95"] / a["p95"] if a and b and a["p95"] else None
        mark = ""
        if ratio is not None and ratio > FLAG:
            mark, _ = "  OVER", flagged.append(name)
        failures = sum(s["failures"] for s in (a, b) if s)
        note = f"  ({failures} failed)" if failures else ""
        shown = f"{ratio:>9.2f}" if ratio is not None else f"{'-':>9}"
        lines.append(f"{name:<44} {cells[0]}   {cells[1]}  {shown}{mark}{note}")
    lines.append(
        f"p95 at {sizes[1]:,} families over {FLAG} x its p95 at {sizes[0]:,}: "
        + (", ".join(flagged) if flagged else "none")
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families-small", type=int, default=200)
    parser.add_argument("--families-large", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=90, help="measured seconds per size")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--keep", action="store_true", help="leave both databases")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="load the kept databases without building them (one not there is built)",
    )
    parser.add_argument("--out", default="", help="folder for locust's CSV and the table")
    parser.add_argument(
        "--exclude-tags", nargs="*", default=[], help="locust tags to leave out (e.g. worklist)"
    )
    # Internal: prepare one database in a process of its own.
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--families", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fixtures", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args)
        return
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (scale_small and scale_large are made).")
    out = Path(args.out or tempfile.mkdtemp(prefix="scale-"))
    out.mkdir(parents=True, exist_ok=True)
    base = server.rsplit("/", 1)[0]
    sizes = (args.families_small, args.families_large)
    results = []
    try:
        for name, families in zip(("scale_small", "scale_large"), sizes, strict=True):
            url = f"{base}/{name}"
            fixtures_path = out / f"{name}.json"
            prepared = subprocess.run(
                [PYTHON, __file__, "--prepare", "--families", str(families),
                 "--fixtures", str(fixtures_path), *(["--reuse"] if args.reuse else [])],
                cwd=ROOT, env={**os.environ, "DATABASE_URL": url},
            )  # fmt: skip
            if prepared.returncode != 0:
                sys.exit(f"Preparing {name} failed.")
            print(
                f"Load on {name}: {args.users} users, {args.seconds} s measured, "
                f"gunicorn -w {args.workers} ...",
                flush=True,
            )
            by_itself = json.loads(fixtures_path.read_text())["alone"]
            results.append((load(url, fixtures_path, args, out / name), by_itself))
    finally:
        if not args.keep and not args.reuse:
            import psycopg

            with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                for name in ("scale_small", "scale_large"):
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    lines = table(results, sizes)
    (out / "table.txt").write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))
    print(f"\nlocust CSV and this table: {out}")


if __name__ == "__main__":
    main()
