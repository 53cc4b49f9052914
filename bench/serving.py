"""gunicorn serving a benchmark's database: the benchmarks that go through HTTP measure the
system as it is deployed, a bounded number of worker processes in front of PostgreSQL."""

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(url: str) -> dict:
    """The environment of the served system: the benchmark's database, notifications queued
    in memory and mail dropped, as a worker in production would take them off the request."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DEBUG": "0",
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "IDENTITY_KEYS": os.environ.get(
            "IDENTITY_KEYS", "ZGVtby1vbmx5LWtleS1ub3QtZm9yLXJlYWwtZGF0YSE="
        ),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


@contextmanager
def gunicorn(url: str, workers: int) -> Iterator[int]:
    """gunicorn with `workers` sync workers on the database, answering: yields its port."""
    port = free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "-w", str(workers),
         "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=environment(url),
    )  # fmt: skip
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
