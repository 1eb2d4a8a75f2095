"""Writes to billing data: transactions (synced or estimated) and balance snapshots."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import datetime, timedelta
from functools import partial

from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from billing.models import BalanceSnapshot, Transaction
from numbers.models import PhoneNumber
from numbers.services import BATCH_SIZE, LISTING_BATCH_SIZE, batched
from portal.bulk import AnyOf, copy_rows, insert_rows
from portal.db.parallel_writes import batch_writer
from portal.db.prefetch import prefetched
from portal.endpoints import AccountEndpoints
from portal.models import ProviderAccount
from portal.providers.base import ProviderAdapter, UpstreamTransaction
from portal.providers.capabilities import Capability
from portal.providers.optional import Endpoint
from portal.sync import SyncCounts

# Re-read this far back from the newest stored transaction, so rows the upstream dated
# slightly in the past (late postings, clock skew) between two syncs are not missed.
TRANSACTION_OVERLAP = timedelta(days=2)
# Estimates cover at most this far back: older rentals are history nobody budgets against.
ESTIMATE_HORIZON = timedelta(days=366)
ESTIMATE_PREFIX = "est:"


def sync_transactions(
    account: ProviderAccount,
    adapter: ProviderAdapter,
    *,
    now: datetime,
    progress: Callable[[SyncCounts], None] = lambda counts: None,
) -> SyncCounts:
    """Append the upstream's new transactions; for a provider without a billing API,
    estimate the rentals from the numbers' fees instead (flagged `is_estimate`)."""
    if not adapter.supports(Capability.TRANSACTIONS):
        return estimate_rentals(account, adapter, now=now, progress=progress)
    complete_until = account.transactions_synced_until
    since = complete_until - TRANSACTION_OVERLAP if complete_until else None
    counts = SyncCounts()
    # The next batch is fetched, and its rows' values worked out, while this one is written
    # (see portal.db.prefetch).
    listing = batched(map(_ledger_values, adapter.iter_transactions(since)), LISTING_BATCH_SIZE)
    # Batches are written two at a time where the database allows (see
    # portal.db.parallel_writes): appending is the same in any order.
    writer = batch_writer(partial(_append, account))
    try:
        with closing(prefetched(listing)) as batches, writer:
            for batch in batches:
                counts.fetched += len(batch)
                writer.submit(batch)
                counts.created = writer.done
                progress(counts)
    finally:
        # Also when the listing failed: the writes begun were finished, and count (the
        # run reads this same SyncCounts for a step that failed).
        counts.created = writer.done
    # Only now is everything up to the newest stored transaction known to be stored: a
    # listing cut off part way (an error, a killed process) leaves the mark where it was,
    # and the next sync reads that stretch again (appending is idempotent).
    newest = Transaction.objects.filter(account=account, is_estimate=False).aggregate(
        newest=Max("occurred_at")
    )["newest"]
    if newest is not None:
        # Not past this run's start: an entry dated in the future (a clock ahead upstream)
        # must not make the next sync skip what is posted until then.
        newest = min(newest, now)
        ProviderAccount.objects.filter(pk=account.pk).update(transactions_synced_until=newest)
        account.transactions_synced_until = newest
    return counts


@transaction.atomic
def _append(account: ProviderAccount, rows: Iterable[tuple]) -> int:
    """Store the rows (ledger values, `_LEDGER_FIELDS`) whose ids are not stored yet
    (append-only: a known id is never rewritten)."""
    rows = {row[0]: row for row in rows}  # by upstream id
    if connection.vendor == "postgresql":
        return _append_through_staging(account, rows.values())
    known = set(
        Transaction.objects.filter(
            AnyOf(F("upstream_id"), list(rows)), account=account
        ).values_list("upstream_id", flat=True)
    )
    new = [
        dict(zip(_LEDGER_FIELDS, row, strict=True)) for key, row in rows.items() if key not in known
    ]
    number_ids = _phone_number_ids(account, {row["number"] for row in new if row["number"]})
    insert_rows(
        Transaction,
        [
            {**row, "account_id": account.pk, "phone_number_id": number_ids.get(row["number"])}
            for row in new
        ],
    )
    return len(new)


def _phone_number_ids(account: ProviderAccount, numbers: set[str]) -> dict[str, int]:
    if not numbers:
        return {}
    return dict(
        PhoneNumber.objects.filter(
            AnyOf(F("number"), list(numbers)), provider_id=account.provider_id
        ).values_list("number", "pk")
    )


# What a ledger record says of a transaction, in the fields' order (the rest is the sync's):
# upstream_id first.
_LEDGER_FIELDS = (
    "upstream_id",
    "kind",
    "amount",
    "currency",
    "description",
    "occurred_at",
    "number",
    "reference",
)
# PostgreSQL: a batch is staged in a temporary table of the session (creating one per batch
# would cost more than the batch's insert), then moved out of it by one statement, so the
# table is empty again whether or not a transaction around the sync commits.
_STAGE = """
    CREATE TEMPORARY TABLE IF NOT EXISTS sync_transaction_staging ON COMMIT DELETE ROWS AS
    SELECT upstream_id, kind, amount, currency, description, occurred_at, number, reference
    FROM billing_transaction WITH NO DATA
"""
_INSERT_STAGED = """
    WITH staged AS (DELETE FROM sync_transaction_staging RETURNING *)
    INSERT INTO billing_transaction (
        upstream_id, kind, amount, currency, description, occurred_at, number, reference,
        account_id, phone_number_id, is_estimate, created_at
    )
    SELECT staged.*, %(account)s, phone.id, FALSE, %(now)s
    FROM staged
    LEFT JOIN numbers_phonenumber AS phone
        ON phone.provider_id = %(provider)s AND phone.number = staged.number
    -- In id order, so two writers with ids in common wait on each other, never deadlock.
    ORDER BY staged.upstream_id
    ON CONFLICT (account_id, upstream_id) DO NOTHING
"""


def _ledger_values(record: UpstreamTransaction) -> tuple:
    return (
        record.upstream_id[:128],
        record.kind,
        record.amount,
        record.currency,
        record.description[:500],
        record.occurred_at,
        record.number,
        record.reference[:200],
    )


def _append_through_staging(account: ProviderAccount, rows: Iterable[tuple]):
    """PostgreSQL: the batch is copied into a temporary table, then inserted from it in one
    statement that skips the ids already stored (ON CONFLICT on the unique account + id)
    and links each row to its phone number by a join: no lookups, no id list sent back and
    forth, and the count of rows inserted is the database's own."""
    with connection.cursor() as cursor:
        cursor.execute(_STAGE)
        copy_rows(cursor, "sync_transaction_staging", _LEDGER_FIELDS, rows)
        cursor.execute(
            _INSERT_STAGED,
            {"account": account.pk, "now": timezone.now(), "provider": account.provider_id},
        )
        return cursor.rowcount


def estimate_rentals(
    account: ProviderAccount,
    adapter: ProviderAdapter,
    *,
    now: datetime,
    progress: Callable[[SyncCounts], None] = lambda counts: None,
) -> SyncCounts:
    """One estimated `recurring` row per rental period of each number the account holds or
    held within the horizon, at the number's rental as the provider states it per period
    (a number whose fee is unknown is not estimated at all: unknown is not zero). Ids are
    derived from the number and the period start, so re-estimating never duplicates a row."""
    counts = SyncCounts(from_upstream=False)
    numbers = (
        PhoneNumber.objects.filter(account=account, period_fee__gt=0, purchased_at__isnull=False)
        .only("pk", "number", "period_fee", "currency", "purchased_at", "released_at")
        .order_by("pk")
    )
    for batch in batched(numbers.iterator(chunk_size=BATCH_SIZE), BATCH_SIZE):
        estimates = [
            estimate
            for number in batch
            for estimate in _rental_estimates(number, adapter.rental_period_days, now)
        ]
        counts.fetched += len(estimates)
        counts.created += _store_estimates(account, estimates)
        progress(counts)
    return counts


def _rental_estimates(number: PhoneNumber, period_days: int | None, now: datetime):
    end = min(now, number.released_at) if number.released_at else now
    horizon = now - ESTIMATE_HORIZON
    for start in _period_starts(number.purchased_at, end, period_days):
        if start >= horizon:
            yield Transaction(
                upstream_id=f"{ESTIMATE_PREFIX}{number.number}:{start:%Y-%m-%d}",
                kind=Transaction.Kind.RECURRING,
                amount=number.period_fee,
                currency=number.currency,
                description="Rental estimated from the number's fee",
                occurred_at=start,
                number=number.number,
                phone_number_id=number.pk,
                is_estimate=True,
            )


def _period_starts(first: datetime, end: datetime, period_days: int | None):
    """Renewal dates from `first` until `end`: every `period_days`, or monthly on the
    purchase day (the last day of shorter months)."""
    index = 0
    while True:
        if period_days:
            start = first + timedelta(days=period_days * index)
        else:
            start = _add_months(first, index)
        if start > end:
            return
        yield start
        index += 1


def _add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@transaction.atomic
def _store_estimates(account: ProviderAccount, estimates: list[Transaction]) -> int:
    known = set(
        Transaction.objects.filter(
            account=account, upstream_id__in=[e.upstream_id for e in estimates]
        ).values_list("upstream_id", flat=True)
    )
    new = [estimate for estimate in estimates if estimate.upstream_id not in known]
    for estimate in new:
        estimate.account = account
    Transaction.objects.bulk_create(new)
    return len(new)


def snapshot_balance(
    account: ProviderAccount,
    adapter: ProviderAdapter,
    *,
    now: datetime,
    progress: Callable[[SyncCounts], None] = lambda counts: None,
) -> SyncCounts:
    """Record the balance when it differs from the latest snapshot. An unchanged balance
    writes nothing: the run's time already says when it was last confirmed. A balance the
    account does not offer (404/405/501) is recorded on the account, not failed."""
    counts = SyncCounts()
    if not adapter.supports(Capability.BALANCE):
        return counts
    endpoints = AccountEndpoints(account, now=now)
    balance = endpoints.read(Endpoint.BALANCE, adapter.get_balance, default=None)
    if balance is None:
        # Nothing was read: this step cannot vouch for a run's success.
        return SyncCounts(from_upstream=False)
    counts.fetched = 1
    latest = BalanceSnapshot.objects.filter(account=account).order_by("-taken_at").first()
    unchanged = latest is not None and (latest.balance, latest.currency, latest.credit_limit) == (
        balance.amount,
        balance.currency,
        balance.credit_limit,
    )
    if not unchanged:
        BalanceSnapshot.objects.create(
            account=account,
            balance=balance.amount,
            currency=balance.currency,
            credit_limit=balance.credit_limit,
            taken_at=now,
        )
        counts.created = 1
    return counts
