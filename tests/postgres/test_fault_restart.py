"""PostgreSQL restarted while 8 clients write. The shared server is left alone: the test
makes a private cluster in a temporary folder (initdb, pg_ctl), copies the migrated test
database holding the suite's small trial there, serves the system against it with gunicorn
(persistent connections, as in production, with their health checks) and has 8 clients
screen referrals through the API, each tagging its write and noting what was acknowledged.
The cluster is restarted (`pg_ctl restart -m fast`) in the middle and the clients go on,
retrying. Then: every write acknowledged before and after the restart is there, once; a
write answered "nothing was saved" is not; no row lacks its ledger event, nor an event its
row; `audit_verify` passes. A second restart with no one writing shows that the server's
kept connections are replaced before use (the next writes all succeed). The cluster's
database is a copy of the test database, so that the test takes seconds, not the minute
that migrating afresh takes."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from knox.models import AuthToken

from core.clock import today
from core.database import MAYBE_SAVED, NOTHING_SAVED

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.requirement("FLT-1"),
]

CLIENTS = 8
BASE_DIR = Path(settings.BASE_DIR)
ELIGIBLE = {
    "known_to_social_care": True,
    "cp_plan_or_pre_proceedings": True,
    "parent_has_capacity": True,
    "final_order_made": False,
    "leaving_area": False,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    if not found:
        pytest.skip("initdb is missing (apt-get install postgresql)")
    return found[-1].parent


class Cluster:
    """A PostgreSQL cluster of the test's own, in a temporary folder, owned by the
    `postgres` user when the tests run as root (initdb refuses root)."""

    def __init__(self, root: Path):
        self.bin, self.root = _postgres_bin(), root
        self.data, self.log, self.port = root / "data", root / "server.log", _free_port()
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        self.as_owner = [runuser, "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(root, user="postgres")

    def _pg(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self.as_owner, str(self.bin / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def start(self) -> None:
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def restart(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def cluster():
    # In /tmp when run as root: the postgres user must reach it (root's TMPDIR may not do).
    root = Path(tempfile.mkdtemp(prefix="reconnect-pg-", dir="/tmp" if os.geteuid() == 0 else None))
    made = Cluster(root)
    try:
        made.start()
        yield made
    finally:
        try:
            made.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _copy_test_database(cluster: Cluster) -> str:
    """The test database (migrated, and seeded by the test), copied whole into the cluster's
    database `faults` with pg_dump: the migrations run once per test session, not again."""
    source = connection.settings_dict
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute("CREATE DATABASE faults")
    dump = subprocess.run(
        [
            *(str(cluster.bin / "pg_dump"), "--no-owner", "--no-privileges"),
            *("-h", source["HOST"], "-p", str(source["PORT"] or 5432), "-U", source["USER"]),
            source["NAME"],
        ],
        env={**os.environ, "PGPASSWORD": source["PASSWORD"] or ""},
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [str(cluster.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", cluster.url("faults")],
        input=dump.stdout,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return cluster.url("faults")


@pytest.fixture
def served(cluster, world):
    """The system served by gunicorn against a copy, in the private cluster, of the test
    database holding the world: (base URL, API tokens of BUC's coordinator, the copy's
    URL, the environment of its commands)."""
    tokens = [AuthToken.objects.create(user=world.coord_buc)[1] for _ in range(CLIENTS)]
    url = _copy_test_database(cluster)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": url,
        # Persistent connections, as production keeps them: a restart must not leave a
        # thread with a dead one (CONN_HEALTH_CHECKS replaces it).
        "CONN_MAX_AGE": "60",
    }
    env.pop("CELERY_BROKER_URL", None)  # tasks run in-process
    port, log = _free_port(), open(cluster.root / "gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", str(CLIENTS)),
            *("--timeout", "60", "--graceful-timeout", "2", "--log-level", "warning"),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (cluster.root / "gunicorn.log").read_text()
            try:
                if _call(base, "GET", "/api/v1/me/", tokens[0])[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.2)
        yield base, tokens, url, env
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _call(base: str, method: str, path: str, token: str, body=None) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as reply:
            return reply.status, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@dataclass
class Attempt:
    tag: str
    sent: float
    status: int | None  # None: no answer (the connection to the server failed)
    body: dict = field(default_factory=dict)


def _screen(base: str, token: str, site: int, tag: str) -> tuple[int | None, dict]:
    body = {
        "site": site,
        "referral_date": (today() - timedelta(days=10)).isoformat(),
        "referrer_type": "social_worker",
        "child_date_of_birth": (today() - timedelta(days=120)).isoformat(),
        "answers": ELIGIBLE,
        "interpreter_needed": True,
        "interpreter_language": tag,  # the write's own mark, to find it afterwards
    }
    try:
        return _call(base, "POST", "/api/v1/screening/", token, body)
    except OSError as exc:
        return None, {"error": str(exc)}


def test_writes_acknowledged_around_a_restart_are_all_kept_and_the_ledger_verifies(
    world, cluster, served
):
    base, tokens, url, env = served
    stop = threading.Event()
    logs: list[list[Attempt]] = [[] for _ in range(CLIENTS)]

    def client(i: int) -> None:
        n = 0
        while not stop.is_set():
            tag = f"c{i}-{n}"
            n += 1
            sent = time.monotonic()
            status, body = _screen(base, tokens[i], world.buc.pk, tag)
            logs[i].append(Attempt(tag, sent, status, body))
            if status != 201:
                time.sleep(0.1)  # the client's retry pause

    def acknowledged(after: float) -> int:
        """The fewest writes any client has had acknowledged since `after`."""
        return min(sum(1 for a in log if a.status == 201 and a.sent >= after) for log in list(logs))

    def wait_for(after: float, each: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while acknowledged(after) < each:
            assert time.monotonic() < deadline, [[a.status for a in log[-5:]] for log in logs]
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    try:
        wait_for(began, 3, timeout=60)
        restart_began = time.monotonic()
        cluster.restart()
        restarted = time.monotonic()
        # Each client goes on and is acknowledged again: the server reconnected.
        wait_for(restarted, 3, timeout=60)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    attempts = [a for log in logs for a in log]

    # Restarted again while no one writes: every server thread's kept connection is dead
    # when the next requests come, and is found so by its health check and replaced before
    # it is used. Without CONN_HEALTH_CHECKS the first request on each thread fails.
    cluster.restart()
    quiet: list[Attempt] = []

    def quiet_client(i: int) -> None:
        sent = time.monotonic()
        quiet.append(Attempt(f"q{i}", sent, *_screen(base, tokens[i], world.buc.pk, f"q{i}")))

    threads = [threading.Thread(target=quiet_client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [a.status for a in quiet] == [201] * CLIENTS, [(a.status, a.body) for a in quiet]
    attempts += quiet

    with psycopg.connect(url.replace("postgres://", "postgresql://")) as db:
        stored = dict(
            db.execute(
                "SELECT interpreter_language, count(*) FROM trial_screeningrecord "
                "GROUP BY interpreter_language"
            ).fetchall()
        )
        ids = dict(db.execute("SELECT interpreter_language, id FROM trial_screeningrecord"))
        unaudited = db.execute(
            "SELECT s.id FROM trial_screeningrecord s WHERE (SELECT count(*) FROM "
            "audit_auditevent e WHERE e.event_type = 'screened' AND e.object_type = "
            "'trial.ScreeningRecord' AND e.object_id = s.id::text) <> 1"
        ).fetchall()
        orphans = db.execute(
            "SELECT e.seq FROM audit_auditevent e WHERE e.event_type = 'screened' AND NOT "
            "EXISTS (SELECT 1 FROM trial_screeningrecord s WHERE s.id::text = e.object_id)"
        ).fetchall()

    acked = [a for a in attempts if a.status == 201]
    before = [a for a in acked if a.sent < restart_began]
    after = [a for a in acked if a.sent >= restarted]
    assert before and after
    # Once the server is back, no request fails: each thread's kept connection, dead since
    # the restart, is found so by its health check and replaced before it is used.
    late = [(a.tag, a.status, a.body) for a in attempts if a.sent >= restarted and a.status != 201]
    assert not late, late[:5]
    # Every acknowledged write is there, once, as the row the client was told of.
    missing = [a.tag for a in acked if stored.get(a.tag) != 1 or ids[a.tag] != a.body["id"]]
    assert not missing, missing
    # What was refused was refused whole, in the API's error shape, and said so truly.
    unavailable = [a for a in attempts if a.status == 503]
    for a in unavailable:
        assert a.body["error"]["code"] == "database_unavailable", a.body
        assert a.body["error"]["message"] in (NOTHING_SAVED, MAYBE_SAVED), a.body
    said_nothing_saved = [a.tag for a in unavailable if a.body["error"]["message"] == NOTHING_SAVED]
    assert not [tag for tag in said_nothing_saved if tag in stored], "503 said nothing was saved"
    others = [(a.tag, a.status, a.body) for a in attempts if a.status not in (201, 503, None)]
    assert not others, others[:5]  # no 500, no other refusal
    assert all(count == 1 for count in stored.values()), stored  # no write saved twice
    assert not unaudited and not orphans, (unaudited, orphans)
    assert "chain intact" in _manage(env, "audit_verify")
    print(
        f"\n{len(attempts)} writes sent by {CLIENTS} clients; {len(acked)} acknowledged "
        f"({len(before)} before the restart, {len(after)} after); {len(unavailable)} answered "
        f"503 ({len(said_nothing_saved)} 'nothing saved'); "
        f"{sum(1 for a in attempts if a.status is None)} unanswered; restart took "
        f"{restarted - restart_began:.1f} s; all acknowledged writes present; after a second, "
        f"quiet restart the next {CLIENTS} writes were all acknowledged"
    )
