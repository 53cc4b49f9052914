"""Benchmark of the audit ledger on PostgreSQL (not a test).

Builds a ledger of 1,000,000 events (a valid chain, loaded with COPY), then prints:
  1. transactions per second with 8 writer processes, at 8 sites and at one site: a
     one-row update with its ledger event (batched sealing, inline sealing, and the event
     written but not sealed: the ceiling of any way of sealing), against the same update
     without it (the ratio is the ledger's cost);
  2. the time of a one-family filtered page and of a deep keyset page (beside OFFSET at
     the same depth, which is what keyset pagination avoids);
  3. audit_verify's events per second (its processes each checking a range), against
     PostgreSQL's COPY of the same rows to the client, measured in turns.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reconnect_bench \
        .venv/bin/python bench/audit_bench.py [--events 1000000] [--seconds 10] [--only verify]
"""

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
os.environ["DEBUG"] = "0"  # no query log growing in memory
WRITERS = 8


def setup_django() -> None:
    import django

    django.setup()


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def build(events: int) -> dict:
    """A trial with one site per writer (through the services), then `events` more events
    continuing the chain, written with COPY."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from audit.chain import canonical_bytes
    from audit.models import CHAINED_FIELDS, AuditEvent, ChainHead, SealedBatch, chained_fields
    from audit.sealing import batched_from_here, seal_waiting
    from core.channels import Channel
    from sites.lifecycle import site_register
    from trial.bootstrap import trial_bootstrap

    call_command("migrate", verbosity=0)
    trial = trial_bootstrap(
        path=ROOT / "trial/definitions/reconnect.yaml",
        username="manager",
        email="m@example.test",
        password="bench-Password-2026",
    )
    manager = trial.memberships.get().user
    sites = [
        site_register(
            trial=trial,
            actor=manager,
            channel=Channel.COMMAND,
            code=chr(65 + i) * 3,
            name=f"Site {i}",
            nhs_trust="Trust",
            local_authority="Council",
            recruitment_target=100,
        )
        for i in range(WRITERS)
    ]
    seal_waiting()
    head = ChainHead.objects.get()
    first_pos = head.last_seq + 1
    rng = random.Random(7)
    families = [f"RC-{s.code}-{n:04d}-K" for s in sites for n in range(1, 251)]  # 2,000
    start_at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    # Numbers continue after the last one given; places after the head.
    prev, seq = head.last_hash, AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[0]
    pos = head.last_seq
    columns = (*CHAINED_FIELDS, "pos", "prev_hash", "hash")
    began = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(
            f"COPY audit_auditevent ({', '.join(columns)}) FROM STDIN"
        ) as copy,
    ):
        for n in range(events):
            seq += 1
            pos += 1
            site = sites[rng.randrange(WRITERS)]
            family = rng.choice(families) if rng.random() < 0.8 else ""
            late = rng.random() < 0.05
            values = {
                "seq": seq,
                "at": start_at + timedelta(seconds=n * 25),
                "actor_id": rng.randrange(2, 42),
                "actor_username": f"user{rng.randrange(40)}",
                "actor_role": "site_coordinator",
                "site_id": site.pk,
                "site_code": site.code,
                "channel": rng.choice(["web", "web", "web", "api"]),
                "event_type": "update",
                "object_type": "crf.Response",
                "object_id": str(rng.randrange(1, 60000)),
                "family": family,
                "changes": {f"item_{rng.randrange(36)}": [rng.randrange(5), rng.randrange(5)]},
                "reason": "transcription error corrected" if late else "",
                "edit_after": "completed" if late else "",
            }
            fields = chained_fields(values)
            digest = hashlib.sha256(prev.encode("ascii") + canonical_bytes(fields)).hexdigest()
            copy.write_row(
                [
                    *(
                        json.dumps(values["changes"]) if c == "changes" else values[c]
                        for c in columns[:-3]
                    ),
                    pos,
                    prev,
                    digest,
                ]
            )
            prev = digest
    ChainHead.objects.filter(pk=1).update(last_seq=pos, last_hash=prev)
    SealedBatch.objects.create(
        first_pos=first_pos, last_pos=pos, last_hash=prev, sealed_at=timezone.now()
    )
    batched_from_here()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    return {
        "seconds": time.perf_counter() - began,
        "families": families,
        "site_ids": [s.pk for s in sites],
        "manager": manager.pk,
    }


def _writer(
    url: str,
    site_id: int,
    event_site_id: int,
    manager_id: int,
    sealing: str,
    seconds: float,
    start,
    queue,
) -> None:
    """One writer process: a one-row update of its own site per transaction and, unless
    `sealing` is "none", its ledger event (recorded at `event_site_id`). "unsealed": the
    event is written as in batched sealing but nothing seals it while the run lasts (no
    sealer process, no writer's nudge), which is the ceiling of any way of sealing."""
    os.environ["DATABASE_URL"] = url
    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from audit.events import EventType
    from audit.ledger import record
    from core.channels import Channel
    from sites.models import Site

    if sealing == "unsealed":
        import audit.ledger

        settings.LEDGER_SEALING = "batched"
        audit.ledger.seal_after_commit = lambda: None
    elif sealing != "none":
        settings.LEDGER_SEALING = sealing
    manager = get_user_model().objects.get(pk=manager_id)
    site = Site.objects.get(pk=event_site_id)
    done, latencies, n = 0, [], 0
    start.wait()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        n += 1
        t0 = time.perf_counter()
        with transaction.atomic():
            Site.objects.filter(pk=site_id).update(recruitment_target=100 + n % 50)
            if sealing != "none":
                record(
                    event=EventType.UPDATE,
                    actor=manager,
                    channel=Channel.API,
                    site=site,
                    changes={"recruitment_target": [100, 100 + n % 50]},
                )
        latencies.append(time.perf_counter() - t0)
        done += 1
    connection.close()
    queue.put((done, latencies))


def _sealer(url: str, stop) -> None:
    """The sealer process, as `manage.py ledger_sealer` runs it beside the web workers."""
    os.environ["DATABASE_URL"] = url
    setup_django()
    from django.conf import settings
    from django.db import connection

    from audit.sealing import seal_waiting

    settings.LEDGER_SEALING = "batched"
    while not stop.is_set():
        if not seal_waiting():
            time.sleep(0.1)
    connection.close()


def writers(
    url: str, built: dict, *, sealing: str, one_site: bool, seconds: float
) -> tuple[float, float]:
    """8 writer processes; each updates its own site's row. At 8 sites each records its event
    at its own site; at one site all record theirs at the first. Batched sealing runs the
    sealer process beside them, as production does."""
    ctx = mp.get_context("spawn")
    queue, start = ctx.Queue(), ctx.Barrier(WRITERS)
    sites = built["site_ids"]
    procs = [
        ctx.Process(
            target=_writer,
            args=(
                url,
                sites[i],
                sites[0] if one_site else sites[i],
                built["manager"],
                sealing,
                seconds,
                start,
                queue,
            ),
        )
        for i in range(WRITERS)
    ]
    stop = ctx.Event()
    if sealing == "batched":
        from audit.sealing import batched_from_here

        batched_from_here()  # a checkpoint for the inline runs, the numbers past theirs
        procs.append(ctx.Process(target=_sealer, args=(url, stop)))
    for p in procs:
        p.start()
    results = [queue.get() for _ in range(WRITERS)]
    stop.set()
    for p in procs:
        p.join()
    total = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[1])
    return total / seconds, latencies[int(0.95 * (len(latencies) - 1))] * 1000


def sealed_after(url: str) -> tuple[int, int, float]:
    """After the runs: (events waiting, checkpoints, seconds to seal them)."""
    from audit.models import SealedBatch
    from audit.sealing import seal_waiting, waiting_count

    waiting = waiting_count()
    t0 = time.perf_counter()
    seal_waiting()
    return waiting, SealedBatch.objects.count(), time.perf_counter() - t0


def timed(fn, runs: int = 15) -> float:
    fn()  # warm
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def pages(built: dict) -> dict:
    from django.contrib.auth import get_user_model

    from audit.models import AuditEvent
    from randomisation.concealment import blindness_of
    from review.selectors import EventFilter, events_visible_to, filter_events, keyset_page

    manager = get_user_model().objects.get(pk=built["manager"])
    visible = events_visible_to(manager)
    total = AuditEvent.objects.count()
    family = built["families"][123]
    depth = total - 1000  # about 20,000 pages of 50 back from the newest
    before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[depth]
    return {
        "first page": timed(lambda: keyset_page(visible, before=None, size=50)),
        "one-family page": timed(
            lambda: keyset_page(
                filter_events(visible, EventFilter(family=family), blindness=blindness_of(manager)),
                before=None,
                size=50,
            )
        ),
        f"keyset page {depth // 50:,} (seq < {before})": timed(
            lambda: keyset_page(visible, before=before, size=50)
        ),
        f"OFFSET {depth:,} (same page)": timed(
            lambda: list(visible.order_by("-seq")[depth : depth + 50]), runs=5
        ),
    }


def copy_rate(url: str) -> float:
    """Events per second of PostgreSQL's COPY of the ledger's columns, in order, read through
    psycopg 3 and discarded: what reading the rows costs with no work on them."""
    import psycopg

    from audit.chain import ROW_FIELDS

    with psycopg.connect(url) as conn:
        t0 = time.perf_counter()
        rows = 0
        query = (
            f"COPY (SELECT {', '.join(ROW_FIELDS)} FROM audit_auditevent ORDER BY pos) TO STDOUT"
        )
        with conn.cursor().copy(query) as copy:
            for _ in copy:
                rows += 1
        return rows / (time.perf_counter() - t0)


def verify_rate(workers: int | None) -> tuple[float, int]:
    from audit.verification import verify_ledger

    t0 = time.perf_counter()
    result = verify_ledger(workers=workers)
    assert result.intact, result.problem
    return result.checked / (time.perf_counter() - t0), result.checked


def sequential_rate() -> float:
    """The verifier as it was: keyset chunks through the ORM, a mapping per event and
    json.dumps of each, one process."""
    from audit.chain import Link, verify_chain
    from audit.models import CHAINED_FIELDS, AuditEvent, chained_fields

    def links():
        after, columns = 0, ("pos", *CHAINED_FIELDS, "prev_hash", "hash")
        while rows := list(
            AuditEvent.objects.filter(pos__gt=after).order_by("pos").values_list(*columns)[:5000]
        ):
            for row in rows:
                values = dict(zip(columns, row, strict=True))
                yield Link(
                    seq=values["pos"],
                    fields=chained_fields({name: values[name] for name in CHAINED_FIELDS}),
                    prev_hash=values["prev_hash"],
                    hash=values["hash"],
                )
            after = rows[-1][0]

    t0 = time.perf_counter()
    result = verify_chain(links())
    assert result.intact, result.problem
    return result.checked / (time.perf_counter() - t0)


def verification(url: str, rounds: int, workers: int | None, sequential: bool) -> None:
    """COPY and the verifier in turns, `rounds` times each (the median of each is printed),
    so that both meet the same load on the machine."""
    from audit.models import AuditEvent
    from audit.verification import processes_for

    copies, verifies = [], []
    for _ in range(rounds):
        copies.append(copy_rate(url))
        rate, checked = verify_rate(workers)
        verifies.append(rate)
    copy, verify = statistics.median(copies), statistics.median(verifies)
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[0]
    processes = processes_for(last, workers=workers)
    print(f"3. audit_verify over {checked:,} events (median of {rounds}, in turns with COPY):")
    print(f"   audit_verify, {processes} processes:        {verify:12,.0f} events/s")
    print(f"   COPY ... TO STDOUT of the same rows:     {copy:12,.0f} events/s")
    print(f"   audit_verify reaches {verify / copy:.0%} of COPY's rate (target: at least 25%)")
    # The processes share the machine's processors with whatever else runs on it.
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"   ({os.cpu_count()} processors; load average {load} at the end)")
    if sequential:
        print(f"   the sequential verifier it replaces:   {sequential_rate():12,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--only", choices=["verify", "writers"], help="build, then run only that part"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="writers and verify: runs of each, in turns"
    )
    parser.add_argument("--workers", type=int, help="verify: processes (default: audit_verify's)")
    parser.add_argument(
        "--sequential", action="store_true", help="verify: time the old one-process walk too"
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is dropped and recreated).")
    ensure_database(url)
    setup_django()

    built = build(args.events)
    print(
        f"Ledger built: {args.events:,} events by COPY in {built['seconds']:.0f} s "
        f"({args.events / built['seconds']:,.0f} events/s, hashing included)\n"
    )

    if args.only == "verify":
        return verification(url, args.rounds, args.workers, args.sequential)
    print(
        f"1. {WRITERS} writer processes, {args.seconds:.0f} s each run, one-row update per "
        "transaction (its own site's row), with its ledger event or without; the median of "
        f"{args.rounds} rounds, each running every kind in turn (on a small machine one run "
        "differs widely from the next):"
    )
    places = (("8 writers at 8 sites", False), ("8 writers at one site", True))
    # Inline runs before batched ones: a ledger sealed in batches stays batched (docs/ledger.md),
    # so the inline runs are one round, first. The unsealed runs come last in each round, and
    # the events they leave waiting are sealed before the next round's batched runs.
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for where, one_site in places:
        runs[(where, "inline")] = [
            writers(url, built, sealing="inline", one_site=one_site, seconds=args.seconds)
        ]
    waiting = []
    for _ in range(args.rounds):
        for sealing in ("none", "batched", "unsealed"):
            for where, one_site in places:
                runs.setdefault((where, sealing), []).append(
                    writers(url, built, sealing=sealing, one_site=one_site, seconds=args.seconds)
                )
        waiting.append(sealed_after(url))
    figures = {
        key: (statistics.median(r[0] for r in found), statistics.median(r[1] for r in found))
        for key, found in runs.items()
    }
    for where, _ in places:
        bare = figures[(where, "none")][0]
        print(f"   {where}:")
        for sealing, label in (
            ("batched", "ledger, batched sealing"),
            ("inline", "ledger, inline sealing (the head locked to commit; one run)"),
            ("unsealed", "ledger events written, none sealed (the ceiling)"),
            ("none", "no ledger"),
        ):
            tps, p95 = figures[(where, sealing)]
            kept = f"keeps {tps / bare:4.0%}" if sealing != "none" else ""
            print(f"     {label:<60} {tps:8,.0f}/s  p95 {p95:6.1f} ms  {kept}")
            if sealing != "inline" and args.rounds > 1:
                each = ", ".join(f"{r[0]:,.0f}" for r in runs[(where, sealing)])
                print(f"     {'':<60} rounds: {each}")
    left, batches, seconds = waiting[-1]
    print(
        f"   after the last round: {left:,} events waiting to be sealed, nearly all the "
        f"unsealed runs' (sealed in {seconds * 1000:,.0f} ms, "
        f"{left / max(seconds, 1e-9):,.0f} events/s); {batches:,} checkpoints in all\n"
    )
    if args.only == "writers":
        return None

    print("2. Review pages (median of 15, warm), trial manager's view of every event:")
    for name, ms in pages(built).items():
        print(f"   {name:<40} {ms:8.2f} ms")
    print()

    verification(url, args.rounds, args.workers, args.sequential)


if __name__ == "__main__":
    main()
