"""A Redis broker of the test's own (a private redis-server on a free port, in a temporary
folder) that the test may stop and start, and the Celery app pointed at it. The shared Redis
other tests use is never touched."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.db import OperationalError
from kombu import pools

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, seconds: float = 30.0, step: float = 0.25) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OperationalError:  # SQLite: a table the worker is writing, locked a moment
            pass
        time.sleep(step)
    return bool(condition())


class PrivateRedis:
    def __init__(self, folder: Path):
        self.folder, self.port, self.process = folder, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(self.answers, 10), "the private redis-server did not start"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
        assert not self.answers()


@contextmanager
def celery_on(url: str):
    """The Celery app of this process publishes to `url` (not eagerly) inside the block."""
    # The read and write URLs: CELERY_BROKER_URL in the environment outranks `broker_url`.
    saved = (app.conf.broker_read_url, app.conf.broker_write_url, app.conf.task_always_eager)

    def fresh_pools():
        pools.reset()  # kombu's pools of connections and producers, keyed by broker
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_read_url = app.conf.broker_write_url = url
    app.conf.task_always_eager = False
    fresh_pools()
    try:
        yield app
    finally:
        fresh_pools()
        app.conf.broker_read_url, app.conf.broker_write_url, app.conf.task_always_eager = saved


class Worker:
    """`celery -A config worker` as a process of its own (prefork, one child) on the test's
    database and broker, its email written to files in `mail_dir`."""

    def __init__(self, *, broker: str, database: str, mail_dir: Path, log: Path, **env):
        self.log = log
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.tasks.worker_settings",
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": broker,
            "EMAIL_FILE_PATH": str(mail_dir),
            **{k: str(v) for k, v in env.items()},
        }
        self.process = None

    def start(self) -> "Worker":
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole, children too
        )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ready(self) -> bool:
        return "ready." in self.output()

    def pool_children(self) -> list[int]:
        found = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
            capture_output=True,
            text=True,
            check=False,
        )
        return [int(p) for p in found.stdout.split()]

    def kill(self) -> None:
        """SIGKILL to the worker and its pool child at once: no chance to acknowledge."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
