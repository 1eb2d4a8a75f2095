"""The portal under gunicorn on loopback, as production runs it (DEBUG off), on this
process's database: for the CSV export benchmark and the load test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import connection
from django.test import Client

from portal.benchmark.syncing import free_port


def _worker_pid(master: int) -> int:
    """gunicorn's first worker: the master's first child."""
    for _ in range(200):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise RuntimeError("gunicorn started no worker")


@contextmanager
def gunicorn(env: dict, workers: int = 1):
    """The portal under gunicorn with `workers` workers; yields (origin, the first worker's
    pid). Stopped on the way out, whatever happened."""
    with tempfile.TemporaryDirectory(prefix="portal-static-") as static_root:
        # As a deployment does: DEBUG off serves the collected, fingerprinted files. In a
        # folder of its own: other processes (parallel tests) read the project's.
        env = {**env, "STATIC_ROOT": static_root}
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity=0"],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
        )
        with _serving(env, workers) as served:
            yield served


@contextmanager
def _serving(env: dict, workers: int):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "portal.wsgi",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--timeout=900",
        "--log-level=warning",
    ]
    # A session of its own: stopping it stops its workers too (see _stop).
    process = subprocess.Popen(  # noqa: S603
        command, cwd=settings.BASE_DIR, env=env, start_new_session=True
    )
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
        _stop(process)


def _stop(process: subprocess.Popen):
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        # A worker stuck in a request outlives a graceful stop: the whole group goes now,
        # workers with it, so none keeps a database connection open.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def production_env() -> dict:
    """This process's database (the benchmark's) and keys, with DEBUG off, for a server
    that must accept this process's login session."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{database['NAME']}"
    else:
        password = database["PASSWORD"]
        login = quote(database["USER"], safe="") + (
            f":{quote(password, safe='')}" if password else ""
        )
        url = (
            f"postgres://{login}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",  # not a test run's settings
        "DEBUG": "false",
        "DATABASE_URL": url,
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": settings.FIELD_ENCRYPTION_KEY,
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }


def session_cookie(user) -> str:
    """A signed-in session for `user`, as the sign-in form would leave it, for a client of
    the server above (it shares this process's database and SECRET_KEY)."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value
