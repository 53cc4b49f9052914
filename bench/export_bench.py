"""Benchmark of the analysis export bundle on PostgreSQL (not a test).

Builds, at each of two sizes (500 and 2,000 families by default), a trial of randomised
families with every visit entered (baseline, 6, 12 and 18 months: 52,000 responses and
780,000 item values for 2,000 families, bulk-written as set-up by `crf_bench.build`, plus
the 18-month CORE-10 it leaves free), then a data lock of the whole trial written directly
as a `DataLock` row at the ledger's head (the lock's readiness checks and the export
service's checks are not what is timed). Then, in a fresh process that has done nothing
else, it times the unblinded bundle, every form, built by `build_bundle` (wide and long
CSV, SPSS, Stata, CDISC ODM, dictionary, scripts, manifest, zip), and prints:
  1. its wall time, the time of each step (as `tick` reports them), its size, and the
     responses and item values it holds;
  2. the process's peak memory: `ru_maxrss` before and after the build (resident set,
     everything), and the peak of Python's own allocations under `tracemalloc` in a second,
     traced build (slower, so not the timed one);
  3. beside the build time, the time of a plain `COPY (SELECT the same response rows ...)
     TO STDOUT` through psycopg 3, every block read and discarded: the goal is a bundle in
     at most 3 x that COPY;
  4. both sizes side by side, so that one can see whether memory grows with the families.

Each size is set up in a database of its own, `reconnect_bench_export_<families>`, on the
server of DATABASE_URL (whose own database is not touched), dropped at the end.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reconnect_bench \
        .venv/bin/python bench/export_bench.py [--families 2000] [--small 500] [--profile]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crf_bench import TIMED_FORM, TIMED_VISIT  # noqa: E402  (sets the environment first)
from crf_bench import build as build_entered  # noqa: E402
from randomise_bench import setup_django  # noqa: E402

RESULT = "RESULT "  # the line a measuring process hands its figures back on
GOAL = 3.0  # the bundle in at most this many times the COPY of its responses


def database_url(url: str, families: int) -> str:
    return f"{url.rsplit('/', 1)[0]}/reconnect_bench_export_{families}"


def set_up(url: str, families: int) -> None:
    """Every visit entered for `families` families, then a lock of the whole trial."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from audit.models import ChainHead
    from crf.models import Response
    from lock.models import DataLock
    from trial.models import Trial

    built = build_entered(url, families)
    # crf_bench leaves one form free per family: enter it too, as the 12-month one was.
    like = Response.objects.filter(form=TIMED_FORM).exclude(visit=TIMED_VISIT).first()
    Response.objects.bulk_create(
        [
            Response(
                family_id=fid,
                definition=like.definition,
                form=TIMED_FORM,
                visit=TIMED_VISIT,
                status=like.status,
                values=like.values,
                missing=like.missing,
                scores=like.scores,
                dated_on=like.dated_on,
                entered_by=like.entered_by,
                updated_by=like.updated_by,
            )
            for fid in built["families"]
        ],
        batch_size=2000,
    )
    # Last: a lock's triggers refuse any further write to the forms' tables.
    chain = ChainHead.objects.get(pk=1)
    DataLock.objects.create(
        trial=Trial.objects.get(),
        population="",
        forms=[],
        version=1,
        locked_by=get_user_model().objects.get(username="stats.unblind"),
        locked_at=timezone.now(),
        ledger_seq=chain.last_seq,
        ledger_head=chain.last_hash,
    )
    print(f"{Response.objects.count():,} responses entered and locked.", flush=True)


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _copy_seconds(url: str) -> tuple[float, int]:
    """The wall time and bytes of COPYing the bundle's response rows, in its order."""
    import psycopg

    from crf.models import Response
    from sites.models import Site
    from trial.models import Family

    sql = (
        "COPY (SELECT r.id, r.family_id, r.visit, r.form, r.number, r.status, r.values, "
        f"r.missing, r.scores FROM {Response._meta.db_table} r "
        f"JOIN {Family._meta.db_table} f ON f.id = r.family_id "
        f"JOIN {Site._meta.db_table} s ON s.id = f.site_id "
        "ORDER BY s.code, f.sequence, r.visit, r.form, r.number) TO STDOUT"
    )
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        t0 = time.perf_counter()
        size = 0
        with cursor.copy(sql) as copy:
            for block in copy:
                size += len(block)
        return time.perf_counter() - t0, size


def measure(url: str, profile: bool) -> dict:
    """Run in a process of its own, so that ru_maxrss is the export's and not the set-up's."""
    import tracemalloc

    from django.db import connection

    from crf.models import Response
    from dataset.export.bundle import build_bundle
    from dataset.export.scope import scope_of
    from lock.models import DataLock

    lock = DataLock.objects.select_related("trial").get()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum((SELECT count(*) FROM jsonb_object_keys(values))) "
            f"FROM {Response._meta.db_table}"
        )
        responses, values = cursor.fetchone()
    _copy_seconds(url)  # warm-up: both read from a warm cache
    folder = Path(tempfile.mkdtemp(prefix="export-bench-"))
    try:
        rss_before = _maxrss_mib()
        steps: list[list] = []

        def tick(step: str) -> None:
            steps.append([step, time.perf_counter()])

        t0 = time.perf_counter()
        scope = scope_of(trial=lock.trial, blinded=False, lock=lock)
        built = build_bundle(scope, target=folder / "timed.zip", plan=None, tick=tick)
        end = time.perf_counter()
        rss_after = _maxrss_mib()
        marks = [t0, *(at for _, at in steps), end]
        timed = [
            ["Scope (forms and variables)", marks[1] - marks[0]],
            *([name, marks[n + 2] - marks[n + 1]] for n, (name, _) in enumerate(steps)),
        ]
        copies = [_copy_seconds(url) for _ in range(3)]

        tracemalloc.start()
        t1 = time.perf_counter()
        scope = scope_of(trial=lock.trial, blinded=False, lock=lock)
        build_bundle(scope, target=folder / "traced.zip", plan=None)
        traced_seconds = time.perf_counter() - t1
        traced_peak = tracemalloc.get_traced_memory()[1] / (1 << 20)
        tracemalloc.stop()

        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            scope = scope_of(trial=lock.trial, blinded=False, lock=lock)
            profiler.runcall(build_bundle, scope, target=folder / "profiled.zip", plan=None)
            print("cProfile of a third build (the profiler slows it), by own time:")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    finally:
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
    return {
        "families": built.manifest["families"],
        "responses": responses,
        "values": int(values or 0),
        "rows": sum(f["rows"] for f in built.manifest["forms"]),
        "forms": len(built.manifest["forms"]),
        "size": built.size,
        "files": {f["name"]: f["size"] for f in built.manifest["files"]},
        "bundle_s": end - t0,
        "steps": timed,
        "copy_s": statistics.median(s for s, _ in copies),
        "copy_bytes": copies[0][1],
        "rss_before_mib": rss_before,
        "rss_after_mib": rss_after,
        "traced_peak_mib": traced_peak,
        "traced_s": traced_seconds,
    }


def _child(mode: str, families: int, url: str, profile: bool) -> dict | None:
    """This script again, in a fresh process, on the size's database."""
    command = [sys.executable, __file__, f"--{mode}", str(families)]
    if profile:
        command.append("--profile")
    env = {**os.environ, "DATABASE_URL": url}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    result = None
    for line in proc.stdout:
        if line.startswith(RESULT):
            result = json.loads(line[len(RESULT) :])
        elif line.strip():
            print(f"  [{families:,}] {line}", end="", flush=True)
    if proc.wait():
        sys.exit(f"The {mode} process for {families:,} families failed ({proc.returncode}).")
    return result


def _drop(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report(results: list[dict]) -> None:
    sizes = [f"{r['families']:,} families" for r in results]
    width = 16

    def line(label: str, cells: list[str]) -> None:
        print(f"{label:46}" + "".join(f"{c:>{width}}" for c in cells))

    def mib(x: float) -> str:
        return f"{x:,.1f} MiB"

    print("\nUnblinded analysis bundle at a lock (build_bundle, every form):\n")
    line("", sizes)
    line("responses", [f"{r['responses']:,}" for r in results])
    line("item values (sum of len(values))", [f"{r['values']:,}" for r in results])
    line("rows in the forms' wide files", [f"{r['rows']:,}" for r in results])
    line("bundle size (zip)", [mib(r["size"] / (1 << 20)) for r in results])
    line("  unzipped files", [mib(sum(r["files"].values()) / (1 << 20)) for r in results])
    line("bundle wall time", [f"{r['bundle_s']:,.2f} s" for r in results])
    line(
        "  per 1,000 responses", [f"{1000 * r['bundle_s'] / r['responses']:.3f} s" for r in results]
    )
    line("COPY of the same response rows (median of 3)", [f"{r['copy_s']:,.3f} s" for r in results])
    line("  bytes COPYed", [mib(r["copy_bytes"] / (1 << 20)) for r in results])
    line(
        f"bundle / COPY (goal: at most {GOAL:g} x COPY)",
        [f"{r['bundle_s'] / r['copy_s']:,.1f} x" for r in results],
    )
    print()
    line("peak RSS, ru_maxrss, before the build", [mib(r["rss_before_mib"]) for r in results])
    line("  (Django set up, connected, nothing else)", [""] * len(results))
    line("peak RSS, ru_maxrss, after the build", [mib(r["rss_after_mib"]) for r in results])
    line(
        "  growth of the peak during the build",
        [mib(r["rss_after_mib"] - r["rss_before_mib"]) for r in results],
    )
    line("peak of Python allocations (tracemalloc)", [mib(r["traced_peak_mib"]) for r in results])
    line("  (a second build, traced: its wall time)", [f"{r['traced_s']:,.2f} s" for r in results])
    if len(results) == 2:
        small, large = results
        times = large["families"] / small["families"]
        grow = (large["rss_after_mib"] - large["rss_before_mib"]) / max(
            small["rss_after_mib"] - small["rss_before_mib"], 0.1
        )
        traced = large["traced_peak_mib"] / max(small["traced_peak_mib"], 0.1)
        print(
            f"\n{times:g} x the families: {grow:.1f} x the growth of peak RSS, "
            f"{traced:.1f} x the tracemalloc peak, "
            f"{large['bundle_s'] / small['bundle_s']:.1f} x the wall time."
        )

    print("\nWhere the time goes (each step from its tick to the next):\n")
    line("step", [*sizes, "share"])
    last = results[-1]
    names = [name for name, _ in last["steps"]]
    by_name = [dict(r["steps"]) for r in results]
    for name in names:
        cells = [f"{b[name]:,.2f} s" if name in b else "" for b in by_name]
        share = 100 * by_name[-1][name] / last["bundle_s"]
        line(name[:46], [*cells, f"{share:.0f} %"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--small", type=int, default=500, help="the second, smaller size")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of a build")
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)  # the child processes
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (its database is not touched).")
    if args.setup:
        from audit_bench import ensure_database

        ensure_database(url)
        setup_django()
        set_up(url, args.setup)
        return
    if args.one:
        setup_django()
        print(RESULT + json.dumps(measure(url, args.profile)), flush=True)
        return
    results = []
    for families in sorted({args.small, args.families}):
        own = database_url(url, families)
        try:
            print(f"Setting up {families:,} families in {own.rsplit('/', 1)[1]} ...", flush=True)
            t0 = time.perf_counter()
            _child("setup", families, own, False)
            print(f"  set up in {time.perf_counter() - t0:,.0f} s; building the bundle ...")
            results.append(_child("one", families, own, args.profile and families == args.families))
        finally:
            _drop(own)
    report(results)


if __name__ == "__main__":
    main()
