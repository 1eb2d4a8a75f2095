"""Each hostile mode against `manage.py sync --account ID` in a process of its own, as an
operator or the scheduler runs it, and a hostile account queued ahead of the demo accounts
on one task worker.

Under `make test-long` the command runs with the portal's default limits (a request
deadline of 60 s, a run deadline of 15 minutes, 20 MB bodies) and must end within 150 s and
400 MB; in `make test`, with a request deadline of 2 s. The server's fuse is set beyond
either, so what stops each attack is the portal's own limits.
"""

import json
import subprocess
import sys
import time

import pytest
from django.conf import settings

from portal.benchmark.server import production_env
from portal.models import SyncRun
from portal.providers.sandbox import build_state
from portal.services.sync import queue_sync, sync_account
from portal.tasks import run_queued_sync
from tests.support.hostile import SANE_NUMBERS, HostileUpstream
from tests.support.paths import RELIABILITY_RESULTS
from tests.support.under_attack import account_at, stored
from tests.support.world import World, serve

MB = 1024 * 1024
# The bounds for the default limits.
LONG_SECONDS, LONG_PEAK_MB = 150, 400
QUICK_DEADLINE = 2
# What Django's start and a loaded two-core machine add to a deadline.
MARGIN = 15

# `manage.py sync ...` as typed, reporting its own peak memory when it exits (whatever the
# exit status: a failed sync exits 1).
MANAGE_WITH_PEAK = """
import atexit, resource, runpy, sys
atexit.register(
    lambda: print("peak_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
)
sys.argv = ["manage.py", *sys.argv[1:]]
runpy.run_path("manage.py", run_name="__main__")
"""

# One case per misbehaviour the issue names, spread over the providers; (mode, provider,
# the list under attack, the most requests of that list the portal may make).
CASES = [
    ("endless", "tryvox", "numbers", 2),
    ("repeated_offset", "vobiz", "numbers", 2),
    ("cursor_cycle", "audian", "transactions", 3),
    ("huge_body", "vobiz", "transactions", 1),
    ("gzip_bomb", "tryvox", "numbers", 1),
    ("trickle", "ravan", "numbers", 1),
    ("silent", "audian", "numbers", 6),  # retried on timeouts, within the request deadline
    ("redirect", "ravan", "numbers", 1),
    ("invalid_json", "vobiz", "numbers", 1),
    ("html", "audian", "numbers", 1),
]


def limits_env(long_run: bool) -> dict:
    """The process's settings: production's, on this test's database, reaching the hostile
    server on loopback; with a short request deadline unless this is the long run."""
    env = {**production_env(), "ALLOW_PRIVATE_UPSTREAMS": "true"}
    for name in ("UPSTREAM_REQUEST_DEADLINE", "SYNC_RUN_DEADLINE_MINUTES", "UPSTREAM_MAX_BODY_MB"):
        env.pop(name, None)  # the defaults, whatever this shell has set
    if not long_run:
        env["UPSTREAM_REQUEST_DEADLINE"] = str(QUICK_DEADLINE)
    return env


@pytest.fixture
def upstream():
    with HostileUpstream() as server:
        server.fuse_seconds = LONG_SECONDS * 2
        server.fuse_requests = 100_000
        yield server


# Committed rows (the commands are other processes), with the database put back as it was
# around each test like the other transactional tests: a flush alone would let post_migrate
# make the content types anew, under ids that a later test's restore then collides with.
@pytest.mark.long
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(("mode", "slug", "target", "most_requests"), CASES)
def test_the_sync_command_ends_in_time_and_memory_whatever_the_upstream_does(
    upstream, long_run, mode, slug, target, most_requests
):
    account = account_at(upstream, slug)
    assert sync_account(account).status == SyncRun.Status.SUCCEEDED  # sane, to begin with
    before = stored(account)
    assert before[0] == [(number, "active") for number in SANE_NUMBERS]
    if long_run:  # the sizes: 200 MB of whitespace, 400 MB inflated
        upstream.huge_bytes, upstream.bomb_bytes = 200 * MB, 400 * MB
    upstream.misbehave(mode, target=target)
    upstream.prepare(slug)

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", MANAGE_WITH_PEAK, "sync", "--account", str(account.pk)],
        cwd=settings.BASE_DIR,
        env=limits_env(long_run),
        capture_output=True,
        text=True,
        timeout=LONG_SECONDS + 60,
    )
    elapsed = time.monotonic() - started

    assert result.returncode == 1, (result.stdout, result.stderr)  # a failed sync says so
    assert "Some syncs failed (1)" in result.stderr, result.stderr
    peak_mb = int(result.stderr.rsplit("peak_kb", 1)[1].split()[0]) / 1024
    if long_run:  # for the run's summary and the README's table
        RELIABILITY_RESULTS.mkdir(parents=True, exist_ok=True)
        figures = {"test": "hostile", "mode": mode, "provider": slug, "seconds": round(elapsed, 1)}
        figures |= {"peak_mb": round(peak_mb), "requests": upstream.target_requests()}
        (RELIABILITY_RESULTS / f"hostile-{mode}.json").write_text(json.dumps(figures))
    assert peak_mb < LONG_PEAK_MB, f"peak {peak_mb:.0f} MB"
    assert elapsed < (LONG_SECONDS if long_run else QUICK_DEADLINE * 3 + MARGIN), elapsed
    assert upstream.target_requests() <= most_requests, upstream.requests
    run = SyncRun.objects.filter(account=account).latest("pk")
    assert run.status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL), run.status
    assert run.error and run.error in result.stdout + result.stderr, (run.error, result.stdout)
    after = stored(account)
    assert set(before[0]) <= set(after[0]) and set(before[1]) <= set(after[1])


def worker_round(accounts, env) -> list[SyncRun]:
    """Queue a sync of each account, in order, as "Sync now" does, and let one task worker
    (`manage.py db_worker --batch`) work through the queue; the runs, as they ended."""
    runs = []
    for account in accounts:
        run = queue_sync(account)
        run_queued_sync.enqueue(run.pk)
        runs.append(run)
    subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    for run in runs:
        run.refresh_from_db()
    return runs


def span(runs: list[SyncRun]) -> float:
    """Seconds from the first run's start to the last one's end."""
    return (
        max(run.finished_at for run in runs) - min(run.started_at for run in runs)
    ).total_seconds()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_accounts_queued_behind_a_hostile_one_finish_in_their_usual_time_plus_its_deadline(
    upstream,
):
    env = limits_env(long_run=False)
    state = build_state(numbers=30, transactions=25, inventory=6)
    with serve(state) as url:
        demo = list(World(state, url).accounts.values())
        usual = span(worker_round(demo, env))

        hostile = account_at(upstream, "tryvox")
        upstream.misbehave("silent", target="numbers")  # never answers
        hostile_run, *demo_runs = worker_round([hostile, *demo], env)

    # Its numbers failed; its balance came: partial.
    assert hostile_run.status == SyncRun.Status.PARTIAL, hostile_run.error
    assert "took longer than 2 seconds" in hostile_run.error, hostile_run.error
    assert [run.status for run in demo_runs] == [SyncRun.Status.SUCCEEDED] * 4
    # The hostile run went first, and held the only worker for no more than its deadline.
    assert hostile_run.finished_at <= min(run.started_at for run in demo_runs)
    assert span([hostile_run]) < QUICK_DEADLINE + MARGIN / 3
    assert span([hostile_run, *demo_runs]) < usual + QUICK_DEADLINE + MARGIN / 3
