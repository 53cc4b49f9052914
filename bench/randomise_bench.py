"""Benchmark of randomisation on PostgreSQL (not a test).

Randomises families through `family_randomise` (duty check, preconditions, stratum row lock,
slot, allocation, history, audit event) from 8 and then 32 client processes, and prints
randomisations per second, p95 latency and the machine's processor time per randomisation
beside the transactions per second of `pgbench` running a single-row update transaction with
the same number of clients, in the same run.
Then the same for a second trial allocating by minimisation, where every allocation of the
trial takes its turn on one row lock (each depends on all the earlier ones).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reconnect_bench \
        .venv/bin/python bench/randomise_bench.py [--families 4000] [--seconds 15]
"""

import argparse
import multiprocessing as mp
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
os.environ["DEBUG"] = "0"
os.environ.setdefault("IDENTITY_KEYS", "ZGVtby1vbmx5LWtleS1ub3QtZm9yLXJlYWwtZGF0YSE=")
# Notifications are queued, as to a worker in production, not run inside the timed call.
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"


def setup_django() -> None:
    import django

    django.setup()


def build(url: str, families: int, *, method: str = "blocks") -> dict:
    """A trial like the demo's (allocating by `method`), one active site, a sealed list (or,
    for minimisation, a sealed seed) and `families` enrolled."""
    from django.core.management import call_command

    from core.channels import Channel
    from core.clock import today
    from randomisation.services import sequence_generate, sequence_seal
    from sites.lifecycle import site_move_status, site_register, site_update
    from sites.memberships import delegation_grant, membership_grant
    from tests.randomisation.bulk import bulk_families
    from trial.bootstrap import trial_bootstrap
    from trial.consents import consent_version_activate, consent_version_create

    call_command("migrate", verbosity=0)
    definition = ROOT / "trial/definitions/reconnect.yaml"
    who = "" if method == "blocks" else f".{method}"
    if method != "blocks":  # a second trial of its own, defined to allocate by `method`
        text = definition.read_text(encoding="utf-8")
        text = text.replace("method: blocks", f"method: {method}").replace("code: RC", "code: RM")
        definition = Path(tempfile.mkdtemp()) / "definition.yaml"
        definition.write_text(text, encoding="utf-8")
    trial = trial_bootstrap(
        path=definition,
        username=f"manager{who}",
        email="m@example.test",
        password="bench-Password-2026",
    )
    manager = trial.memberships.get().user
    from django.contrib.auth import get_user_model

    make = get_user_model().objects.create_user
    coord = make(f"coord.buc{who}", "c@example.test", "bench-Password-2026")
    pi = make(f"pi.buc{who}", "p@example.test", "bench-Password-2026")
    stats = make(f"stats.unblind{who}", "s@example.test", "bench-Password-2026")
    site = site_register(
        trial=trial,
        actor=manager,
        channel=Channel.COMMAND,
        code="BUC",
        name="Bucks",
        nhs_trust="Trust",
        local_authority="Council",
        recruitment_target=families,
    )
    start = today()
    for user, role, where in (
        (coord, "site_coordinator", site),
        (pi, "principal_investigator", site),
        (stats, "statistician_unblinded", None),
    ):
        m = membership_grant(
            actor=manager,
            channel=Channel.COMMAND,
            user=user,
            trial=trial,
            role=role,
            site=where,
            starts_on=start,
        )
        if role == "site_coordinator":
            for duty in ("take_consent", "randomise", "enter_data"):
                delegation_grant(
                    membership=m, duty=duty, actor=manager, channel=Channel.COMMAND, starts_on=start
                )
    site_move_status(
        site=site,
        actor=manager,
        channel=Channel.COMMAND,
        to_status="approved",
        ethics_approval_date=start,
        rnd_approval_date=start,
    )
    site_update(
        site=site, actor=manager, channel=Channel.COMMAND, principal_investigator=pi, reason="bench"
    )
    site_move_status(site=site, actor=manager, channel=Channel.COMMAND, to_status="active")
    version = consent_version_create(
        trial=trial,
        actor=manager,
        channel=Channel.COMMAND,
        version="1",
        ethics_approval_date=start,
        items=["take_part"],
    )
    consent_version_activate(
        version=version, site=site, effective_from=start, actor=manager, channel=Channel.COMMAND
    )
    rlist = sequence_generate(
        trial=trial, actor=stats, channel=Channel.COMMAND, mode="test", length=families
    )
    sequence_seal(rlist=rlist, actor=stats, channel=Channel.COMMAND)

    class World:  # what bulk_families reads
        pass

    world = World()
    world.trial, world.coord_buc = trial, coord
    ids = [f.pk for f in bulk_families(world, site, version, families, start=1)]
    return {"families": ids, "coordinator": coord.pk}


def _client(url, family_ids, coordinator_id, seconds, ready, queue) -> None:
    os.environ["DATABASE_URL"] = url
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from core.channels import Channel
    from randomisation.services import family_randomise
    from trial.models import Family

    actor = get_user_model().objects.get(pk=coordinator_id)
    families = list(Family.objects.filter(pk__in=family_ids).select_related("site", "trial"))
    ready.wait()  # every client starts together, once all have started Django
    deadline = time.time() + seconds
    latencies = []
    for family in families:
        if time.time() >= deadline:
            break
        t0 = time.perf_counter()
        family_randomise(family=family, actor=actor, channel=Channel.API)
        latencies.append(time.perf_counter() - t0)
    connection.close()
    queue.put((latencies, time.time()))


def _http_client(port, token, family_ids, seconds, ready, queue) -> None:
    """POST each family's randomisation to the API served by gunicorn (stdlib HTTP: the
    client's own cost stays small beside the server's)."""
    import http.client

    ready.wait()
    deadline = time.time() + seconds
    latencies, failures = [], 0
    for family_id in family_ids:
        if time.time() >= deadline:
            break
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request(
            "POST",
            f"/api/v1/families/{family_id}/randomise/",
            headers={"Authorization": f"Token {token}", "Content-Length": "0"},
        )
        answer = conn.getresponse()
        answer.read()
        conn.close()
        latencies.append(time.perf_counter() - t0)
        failures += answer.status != 200
    queue.put((latencies, time.time(), failures))


def busy_jiffies() -> int:
    """The machine's processor time spent so far, in clock ticks, all cores (Linux)."""
    with open("/proc/stat") as stat:
        ticks = [int(n) for n in stat.readline().split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4]  # less idle and iowait


def randomise_run(
    url: str,
    ids: list[int],
    coordinator: int,
    clients: int,
    seconds: float,
    server: tuple[int, list[str]] | None = None,
) -> tuple[float, float, int, float]:
    """(randomisations per second, p95 ms, randomisations done, the machine's processor ms
    per randomisation) with `clients` processes: calling the service, or through the API when
    `server` is (port, tokens) of gunicorn."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    # On a busy machine 32 processes take longer than any fixed delay to start Django: the
    # clock starts when the last is ready.
    ready = ctx.Barrier(clients + 1)
    procs = [
        ctx.Process(target=_client, args=(url, ids[i::clients], coordinator, seconds, ready, queue))
        if server is None
        else ctx.Process(
            target=_http_client,
            args=(server[0], server[1][i], ids[i::clients], seconds, ready, queue),
        )
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    ready.wait()
    start_at, busy_at_start = time.time(), busy_jiffies()
    results = [queue.get() for _ in procs]
    busy = busy_jiffies() - busy_at_start
    for p in procs:
        p.join()
    failed = sum(r[2] for r in results if len(r) > 2)
    if failed:
        sys.exit(f"{failed} randomisations through the API were refused")
    latencies = sorted(x for r in results for x in r[0])
    elapsed = max(r[1] for r in results) - start_at
    return (
        len(latencies) / elapsed,
        latencies[int(0.95 * (len(latencies) - 1))] * 1000,
        len(latencies),
        busy * 1000 / os.sysconf("SC_CLK_TCK") / len(latencies),
    )


def pgbench(url: str, clients: int, seconds: int) -> float:
    """pgbench's TPS for a single-row update transaction, on a table of its own."""
    parts = urlparse(url)
    env = {**os.environ, "PGPASSWORD": parts.password or ""}
    base = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    name = parts.path.lstrip("/")
    subprocess.run(
        [
            "psql",
            *base,
            "-d",
            name,
            "-qc",
            "DROP TABLE IF EXISTS bench_rows; CREATE TABLE bench_rows (id int PRIMARY "
            "KEY, n int); INSERT INTO bench_rows SELECT g, 0 FROM "
            "generate_series(1, 100000) g;",
        ],
        check=True,
        env=env,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(
            "\\set id random(1, 100000)\nBEGIN;\n"
            "UPDATE bench_rows SET n = n + 1 WHERE id = :id;\nEND;\n"
        )
    out = subprocess.run(
        [
            "pgbench",
            *base,
            "-n",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            script.name,
            name,
        ],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument(
        "--http",
        type=int,
        metavar="WORKERS",
        help="through the API, served by gunicorn with this many workers (as deployed)",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is dropped and recreated).")
    from audit_bench import ensure_database  # the same database set-up as the audit benchmark

    ensure_database(url)
    setup_django()
    print(
        f"{'method':>13} {'clients':>8} {'randomisations/s':>18} {'p95 ms':>8} "
        f"{'cpu ms each':>12} {'pgbench tps':>12}  (pgbench: single-row UPDATE transactions, "
        "same clients)"
    )
    for method in ("blocks", "minimisation"):
        built = build(url, args.families, method=method)
        ids, used = built["families"], 0
        with served(url, built["coordinator"], args.http) as server:
            for clients in (8, 32):
                rate, p95, done, cpu = randomise_run(
                    url, ids[used:], built["coordinator"], clients, args.seconds, server
                )
                used += done
                tps = pgbench(url, clients, int(args.seconds))
                print(
                    f"{method:>13} {clients:>8} {rate:>18,.0f} {p95:>8.1f} {cpu:>12.1f} "
                    f"{tps:>12,.0f}"
                )
    print(
        f"\n{args.families:,} enrolled families per trial at one site: blocks from a sealed "
        "list of 4 strata, minimisation from a sealed seed on 3 factors.\n"
        f"cpu ms each: the machine's processor time (all {os.cpu_count()} cores: clients, "
        "server and PostgreSQL) over the run, per randomisation. When the processors are "
        "the limit, a rate that falls with more clients is this cost rising."
    )
    if args.http:
        print(
            f"Through the API (POST /api/v1/families/<id>/randomise/, token auth) served by "
            f"gunicorn with {args.http} sync workers: at most {args.http} randomisations in "
            "progress at once, whatever the clients."
        )


@contextmanager
def served(url: str, coordinator: int, workers: int | None):
    """None (clients call the service), or gunicorn's (port, a token per client)."""
    if not workers:
        yield None
        return
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken
    from serving import gunicorn

    actor = get_user_model().objects.get(pk=coordinator)
    tokens = [AuthToken.objects.create(actor)[1] for _ in range(32)]
    with gunicorn(url, workers) as port:
        # Every worker loads the API's URLs, views and serializers before the clock starts.
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda token: _warm(port, token), tokens[: workers * 4]))
        yield port, tokens


def _warm(port: int, token: str) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/api/v1/allocations/", headers={"Authorization": f"Token {token}"})
    conn.getresponse().read()
    conn.close()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    main()
