"""The transactions CSV export, downloaded over HTTP from gunicorn on loopback, with the
serving worker's memory watched while it streams."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

from portal.benchmark.measure import PeakRss, Stopwatch
from portal.benchmark.syncing import free_port


@dataclass
class ExportFigures:
    rows: int = 0
    megabytes: float = 0.0
    seconds: float = 0.0
    rss_growth_mb: float = 0.0


def _worker_pid(master: int) -> int:
    """gunicorn's one worker: the master's child."""
    for _ in range(200):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise RuntimeError("gunicorn started no worker")


@contextmanager
def gunicorn(env: dict):
    """The portal under gunicorn with one worker, as production runs it (DEBUG off),
    on the benchmark's database; yields (origin, worker pid)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "portal.wsgi",
        f"--bind=127.0.0.1:{port}",
        "--workers=1",
        "--timeout=900",
        "--log-level=warning",
    ]
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)  # noqa: S603
    origin = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{origin}/health/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not answer /health/")
        yield origin, _worker_pid(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def production_env() -> dict:
    """This process's database (the benchmark's) and keys, with DEBUG off, for a server
    that must accept this process's login session."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{database['NAME']}"
    else:
        login = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
        url = (
            f"postgres://{login}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        )
    return {
        **os.environ,
        "DEBUG": "false",
        "DATABASE_URL": url,
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }


def run_export_benchmark(session_cookie: str) -> ExportFigures:
    """Download every transaction as CSV; the figures count the rows that arrived."""
    figures = ExportFigures()
    cookies = {settings.SESSION_COOKIE_NAME: session_cookie}
    with gunicorn(production_env()) as (origin, worker):
        with httpx.Client(base_url=origin, cookies=cookies, timeout=900) as client:
            # A day's export first, so the code is loaded before memory is watched.
            warm = client.get("/billing/transactions/export.csv?date_from=2026-11-30")
            warm.raise_for_status()
            with (
                PeakRss(worker) as memory,
                Stopwatch() as clock,
                client.stream("GET", "/billing/transactions/export.csv") as response,
            ):
                response.raise_for_status()
                size = lines = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    lines += chunk.count(b"\n")
        figures.seconds, figures.rss_growth_mb = clock.seconds, memory.growth
    figures.rows = lines - 1  # the header
    figures.megabytes = size / 1_048_576
    return figures
