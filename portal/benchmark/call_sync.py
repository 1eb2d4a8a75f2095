"""The call-records sync, measured as syncing.py measures the numbers and the ledger: one
Vobiz account's calls served by the sandbox from a process of its own, the portal's
`sync_calls` against the fetch floor (the same adapter's `iter_calls` over the same windows,
only fetching and parsing), an immediate re-sync, and the sync's memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from numbers.models import Call, LabelMonth, NumberDay, NumberMonth, PhoneNumber
from numbers.services.calls import call_windows, sync_calls
from portal.benchmark.measure import PeakRss, Stopwatch
from portal.benchmark.syncing import _output_until, free_port
from portal.demo import ensure_demo_accounts
from portal.models import ProviderAccount, SyncRun
from portal.providers import adapter_for
from portal.providers.sandbox.accounts import DEMO_ACCOUNTS
from portal.services.sync import sync_account

PROVIDER = "vobiz"  # CDRs paged 100 at a time, filtered by whole days: the common shape


@dataclass
class CallSyncFigures:
    calls: int = 0
    numbers: int = 0  # the account's numbers the calls are on
    world_seconds: float = 0.0
    # As for the ledger (syncing.SyncFigures): first syncs and floors taken in turns, the
    # medians compared.
    sync_seconds: float = 0.0
    sync_samples: list[float] = field(default_factory=list)
    sync_rss_growth_mb: float = 0.0
    fetch_floor_seconds: float = 0.0
    fetch_floor_samples: list[float] = field(default_factory=list)
    resync_rows_written: int = 0
    resync_seconds: float = 0.0


# Builds the sandbox's world in a process of its own (200,000 calls take a while and much
# memory to draw), with the one account: `manage.py sandbox` then only loads the file.
_BUILD = """
import django, sys
django.setup()
from portal.providers.sandbox import build_state
from portal.providers.sandbox.accounts import DEMO_ACCOUNTS
path, numbers, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
accounts = [spec for spec in DEMO_ACCOUNTS if spec.provider == {provider!r}]
build_state(path, numbers=numbers, transactions=10, inventory=5, calls=calls, accounts=accounts)
"""


@contextmanager
def call_sandbox(numbers: int, calls: int):
    """The sandbox, serving one Vobiz account holding `numbers` numbers and `calls` calls
    over the ~13 months before now; yields its origin and how long the world took."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "state.json"
        argv = [str(numbers), str(calls)]
        with Stopwatch() as world:
            subprocess.run(  # noqa: S603 (our own code)
                [sys.executable, "-c", _BUILD.format(provider=PROVIDER), state, *argv],
                check=True,
                env=env,
                cwd=settings.BASE_DIR,
            )
            process = subprocess.Popen(  # noqa: S603 (our own manage.py)
                [
                    sys.executable,
                    str(Path(settings.BASE_DIR) / "manage.py"),
                    "sandbox",
                    f"--port={port}",
                    f"--state={state}",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )
            said = _output_until(process, "Sandbox serving")
        try:
            if not said or "Sandbox serving" not in said[-1]:
                raise RuntimeError(f"the sandbox did not start: {''.join(said)[-2000:]!r}")
            yield f"http://127.0.0.1:{port}", world.seconds
        finally:
            process.terminate()
            process.wait(timeout=30)


def fetch_floor(account: ProviderAccount, now) -> int:
    """Every call the sync reads, over the sync's own windows, fetched and parsed."""
    with adapter_for(account) as adapter:
        return sum(
            sum(1 for _ in adapter.iter_calls(start, end))
            for start, end in call_windows(account, adapter, now)
        )


def _timed_floor(account: ProviderAccount, now, expected: int | None = None) -> float:
    with Stopwatch() as clock:
        fetched = fetch_floor(account, now)
    if expected is not None and fetched < expected:
        raise RuntimeError(f"the floor fetched {fetched} calls, the sync stored {expected}")
    return clock.seconds


def portal_call_sync(account: ProviderAccount, now) -> int:
    with adapter_for(account) as adapter:
        counts = sync_calls(account, adapter, now=now)
    return counts.created


def fact_versions(account: ProviderAccount) -> dict[tuple[str, int], object]:
    """Each stored call and fact row of the account, and a token that changes whenever the
    row is written: its xmin on PostgreSQL (a write that leaves the values as they were
    counts too), else its values."""
    versions = {}
    for model in (Call, NumberDay, NumberMonth, LabelMonth):
        rows = model.objects.filter(account=account)
        if connection.vendor == "postgresql":
            table = model._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, xmin::text FROM {table} WHERE account_id = %s",  # noqa: S608
                    [account.pk],
                )
                pairs = cursor.fetchall()
        else:
            pairs = [(row["id"], tuple(sorted(row.items()))) for row in rows.values()]
        versions |= {(model.__name__, pk): token for pk, token in pairs}
    return versions


def rows_written(before: dict, after: dict) -> int:
    """Rows new, changed or gone between two `fact_versions`."""
    return sum(1 for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def forget_calls(account: ProviderAccount) -> None:
    Call.objects.filter(account=account).delete()
    NumberDay.objects.filter(account=account).delete()
    NumberMonth.objects.filter(account=account).delete()
    LabelMonth.objects.filter(account=account).delete()
    PhoneNumber.objects.filter(account=account).update(last_call_at=None)
    ProviderAccount.objects.filter(pk=account.pk).update(calls_synced_until=None)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(
                "VACUUM ANALYZE numbers_call, numbers_numberday, numbers_numbermonth, "
                "numbers_labelmonth, numbers_phonenumber"
            )


def run_call_sync_benchmark(numbers: int, calls: int, rounds: int = 3) -> CallSyncFigures:
    """Sync `calls` calls of one Vobiz account holding `numbers` numbers: `rounds` first
    syncs between `rounds + 1` fetch floors, and one re-sync after the first."""
    figures = CallSyncFigures()
    with call_sandbox(numbers, calls) as (origin, world_seconds):
        figures.world_seconds = world_seconds
        spec = next(spec for spec in DEMO_ACCOUNTS if spec.provider == PROVIDER)
        demo = next(
            demo
            for demo in ensure_demo_accounts(origin)
            if demo.account.upstream_account_id == spec.account_id
        )
        account = demo.account
        # The numbers first, as a scheduled sync has them: calls are put on them.
        if sync_account(account, SyncRun.Kind.NUMBERS).status != SyncRun.Status.SUCCEEDED:
            raise RuntimeError("the numbers sync before the calls failed")
        figures.numbers = PhoneNumber.objects.filter(account=account).count()
        # One `now` for every run: each reads the same windows, the floor included.
        now = timezone.now()
        figures.fetch_floor_samples.append(_timed_floor(account, now))
        for round_ in range(rounds):
            account.refresh_from_db()
            with PeakRss() as memory, Stopwatch() as clock:
                stored = portal_call_sync(account, now)
            figures.sync_samples.append(clock.seconds)
            figures.sync_rss_growth_mb = max(figures.sync_rss_growth_mb, memory.growth)
            if round_ == 0:
                figures.calls = stored
                before = fact_versions(account)
                account.refresh_from_db()
                with Stopwatch() as clock:
                    portal_call_sync(account, now)
                figures.resync_seconds = clock.seconds
                figures.resync_rows_written = rows_written(before, fact_versions(account))
            elif stored != figures.calls:
                raise RuntimeError(f"call sync round {round_ + 1} stored {stored}")
            account.calls_synced_until = None  # the floor reads what a first sync reads
            figures.fetch_floor_samples.append(_timed_floor(account, now, figures.calls))
            forget_calls(account)
        figures.sync_seconds = statistics.median(figures.sync_samples)
        figures.fetch_floor_seconds = statistics.median(figures.fetch_floor_samples)
        SyncRun.objects.filter(account=account).delete()
        PhoneNumber.objects.filter(account=account).delete()
        ids = [demo.account.pk for demo in ensure_demo_accounts(origin)]
        ProviderAccount.objects.filter(pk__in=ids).delete()
    return figures
