"""The sync, measured against the sandbox serving over loopback from its own process:
the portal's sync, the same adapter only fetching and parsing (the floor no sync can beat),
a naive per-row `update_or_create` sync (the baseline), and an immediate second sync."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from billing.models import Transaction
from numbers.models import Call, LabelMonth, NumberDay, NumberMonth, PhoneNumber
from numbers.services.sync import BATCH_SIZE, batched, synced_values
from portal.benchmark.measure import PeakRss, Stopwatch
from portal.demo import ensure_demo_accounts
from portal.models import ProviderAccount, SyncRun
from portal.providers import adapter_for
from portal.providers.capabilities import Capability
from portal.providers.sandbox.accounts import DEMO_ACCOUNTS
from portal.services.sync import sync_account


@dataclass
class SyncFigures:
    numbers: int = 0
    transactions: int = 0
    world_seconds: float = 0.0  # the sandbox making and saving its world
    # The first sync and the floor are each timed several times, taken in turns (a floor,
    # then a sync, ..., then a floor), and their medians are the figures: one timing on a
    # shared 2-core machine can be off by a fifth, and whatever drifts over the run (the
    # processes warming up, the machine's neighbours) then weighs on both sides alike.
    sync_seconds: float = 0.0
    sync_samples: list[float] = field(default_factory=list)
    sync_rss_growth_mb: float = 0.0  # the largest of the rounds
    fetch_floor_seconds: float = 0.0
    fetch_floor_samples: list[float] = field(default_factory=list)
    naive_seconds: float = 0.0
    naive_rows: int = 0  # rows the naive sync wrote (numbers + transactions)
    naive_extrapolated: bool = False
    resync_rows_written: int = 0
    resync_seconds: float = 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def sandbox_process(numbers_per_account: int, transactions_per_account: int):
    """`manage.py sandbox` in a process of its own with a new world; yields its origin and
    how long it took to build the world."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "sandbox",
            f"--port={port}",
            f"--numbers={numbers_per_account}",
            f"--transactions={transactions_per_account}",
            "--inventory=5",
            # No calls: each would be a ledger row too (Audian, Vobiz), more than the
            # transactions asked for; the call sync is measured on its own (call_sync).
            "--calls=0",
            f"--state={Path(folder) / 'state.json'}",
        ]
        # Warnings only: nobody reads the pipe once it serves, so a log line per request
        # would fill it and stall the sandbox.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING"}
        with Stopwatch() as world:
            process = subprocess.Popen(  # noqa: S603 (our own manage.py)
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
            )
            said = _output_until(process, "Sandbox serving")
        try:
            if not said or "Sandbox serving" not in said[-1]:
                raise RuntimeError(f"the sandbox did not start: {''.join(said)[-2000:]!r}")
            yield f"http://127.0.0.1:{port}", world.seconds
        finally:
            process.terminate()
            process.wait(timeout=30)


def _output_until(process, marker: str) -> list[str]:
    """The process's lines up to the one holding `marker` (the last), or all it printed
    before it ended."""
    lines = []
    for line in process.stdout:
        lines.append(line)
        if marker in line:
            break
    return lines


def _billing_accounts(accounts):
    """The accounts whose upstream has a transactions API (Audian, Vobiz): the only ones
    whose transactions are fetched rather than estimated."""
    result = []
    for account in accounts:
        with adapter_for(account) as adapter:
            if adapter.supports(Capability.TRANSACTIONS):
                result.append(account)
    return result


def portal_sync(accounts, billing_accounts) -> list[SyncRun]:
    runs = [sync_account(account, SyncRun.Kind.NUMBERS) for account in accounts]
    runs += [sync_account(account, SyncRun.Kind.TRANSACTIONS) for account in billing_accounts]
    failed = [run for run in runs if run.status != SyncRun.Status.SUCCEEDED]
    if failed:
        raise RuntimeError(f"sync failed: {failed[0].error}")
    return runs


def fetch_floor(accounts, billing_accounts) -> tuple[int, int]:
    """Every page the sync reads, fetched and parsed, and nothing stored."""
    numbers = transactions = 0
    for account in accounts:
        with adapter_for(account) as adapter:
            numbers += sum(1 for _ in adapter.iter_owned_numbers())
            if account in billing_accounts:
                transactions += sum(1 for _ in adapter.iter_transactions(None))
    return numbers, transactions


def _timed_floor(accounts, billing_accounts, expected: tuple[int, int] | None = None) -> float:
    """Seconds the fetch floor takes; `expected` (numbers, transactions) checks that it read
    what the sync stored."""
    with Stopwatch() as clock:
        fetched = fetch_floor(accounts, billing_accounts)
    if expected is not None and fetched != expected:
        raise RuntimeError(f"the floor fetched {fetched}, the sync stored {expected}")
    return clock.seconds


def naive_sync(accounts, billing_accounts, limit: int | None) -> int:
    """The sync as first written: one update_or_create per row (a page per transaction,
    as the portal's sync has). Stops after `limit` rows per account and kind when given."""
    rows = 0
    now = timezone.now()
    for account in accounts:
        with adapter_for(account) as adapter:
            listing = adapter.iter_owned_numbers()
            for page in batched(listing if limit is None else _first(listing, limit), BATCH_SIZE):
                with transaction.atomic():
                    for record in page:
                        PhoneNumber.objects.update_or_create(
                            provider_id=account.provider_id,
                            number=record.number,
                            defaults=synced_values(record, account, now),
                        )
                rows += len(page)
            if account not in billing_accounts:
                continue
            ledger = adapter.iter_transactions(None)
            for page in batched(ledger if limit is None else _first(ledger, limit), BATCH_SIZE):
                with transaction.atomic():
                    for record in page:
                        Transaction.objects.update_or_create(
                            account=account,
                            upstream_id=record.upstream_id,
                            defaults={
                                "kind": record.kind,
                                "amount": record.amount,
                                "currency": record.currency,
                                "description": record.description[:500],
                                "occurred_at": record.occurred_at,
                                "number": record.number,
                                "reference": record.reference[:200],
                            },
                        )
                rows += len(page)
    return rows


def _first(iterator, count):
    for index, item in enumerate(iterator):
        if index >= count:
            return
        yield item


def forget_synced_rows(accounts) -> None:
    ids = [account.pk for account in accounts]
    Transaction.objects.filter(account_id__in=ids).delete()
    # The facts the syncs keep (the ledger's charges, calls) go with what they count (the
    # next sync counts them again), and they hold the accounts, which go at the end.
    for model in (Call, NumberDay, NumberMonth, LabelMonth):
        model.objects.filter(account_id__in=ids).delete()
    PhoneNumber.objects.filter(account_id__in=ids).delete()
    SyncRun.objects.filter(account_id__in=ids).delete()
    # With no transactions stored, the next sync must read the whole ledger again.
    ProviderAccount.objects.filter(pk__in=ids).update(
        transactions_synced_until=None, calls_synced_until=None
    )
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The dead rows cleared now rather than by autovacuum during the next timing.
        with connection.cursor() as cursor:
            cursor.execute(
                "VACUUM ANALYZE numbers_phonenumber, billing_transaction, numbers_numbermonth, "
                "numbers_labelmonth"
            )


def rows_written_since(accounts, moment) -> int:
    """Rows the database says were written after `moment`, whatever the sync reports."""
    ids = [account.pk for account in accounts]
    return (
        PhoneNumber.objects.filter(account_id__in=ids, updated_at__gte=moment).count()
        + Transaction.objects.filter(account_id__in=ids, created_at__gte=moment).count()
    )


def run_sync_benchmark(
    numbers: int, transactions: int, naive_limit: int | None, rounds: int = 3
) -> SyncFigures:
    """Sync `numbers` numbers and `transactions` ledger rows (spread over the sandbox's
    four accounts, the ledger over the two with a billing API) and measure: `rounds` first
    syncs between `rounds + 1` fetch floors, one re-sync, one naive sync."""
    per_account = max(numbers // len(DEMO_ACCOUNTS), 1)
    ledger_per_account = max(transactions // 2, 1)
    figures = SyncFigures()
    with sandbox_process(per_account, ledger_per_account) as (origin, world_seconds):
        figures.world_seconds = world_seconds
        ids = [demo.account.pk for demo in ensure_demo_accounts(origin)]
        accounts, billing_accounts = _fresh_accounts(ids)
        figures.fetch_floor_samples.append(_timed_floor(accounts, billing_accounts))
        for round_ in range(rounds):
            with PeakRss() as memory, Stopwatch() as clock:
                portal_sync(accounts, billing_accounts)
            figures.sync_samples.append(clock.seconds)
            figures.sync_rss_growth_mb = max(figures.sync_rss_growth_mb, memory.growth)
            stored = (
                PhoneNumber.objects.filter(account__in=accounts).count(),
                Transaction.objects.filter(account__in=accounts).count(),
            )
            if round_ == 0:
                figures.numbers, figures.transactions = stored
                started = timezone.now()
                with Stopwatch() as clock:
                    portal_sync(accounts, billing_accounts)
                figures.resync_seconds = clock.seconds
                figures.resync_rows_written = rows_written_since(accounts, started)
            elif stored != (figures.numbers, figures.transactions):
                raise RuntimeError(f"sync round {round_ + 1} stored {stored}")
            figures.fetch_floor_samples.append(_timed_floor(accounts, billing_accounts, stored))
            forget_synced_rows(accounts)
            accounts, billing_accounts = _fresh_accounts(ids)  # their ledger marks forgotten
        figures.sync_seconds = statistics.median(figures.sync_samples)
        figures.fetch_floor_seconds = statistics.median(figures.fetch_floor_samples)

        with Stopwatch() as clock:
            figures.naive_rows = naive_sync(accounts, billing_accounts, naive_limit)
        total = figures.numbers + figures.transactions
        figures.naive_extrapolated = figures.naive_rows < total
        # Per-row work: its time grows in proportion to the rows (stated when extrapolated).
        figures.naive_seconds = clock.seconds * total / figures.naive_rows
        forget_synced_rows(accounts)
        ProviderAccount.objects.filter(pk__in=ids).delete()
    return figures


def _fresh_accounts(ids: list[int]):
    """The accounts as stored now, and those of them with a billing API."""
    accounts = list(ProviderAccount.objects.filter(pk__in=ids).order_by("pk"))
    return accounts, _billing_accounts(accounts)
