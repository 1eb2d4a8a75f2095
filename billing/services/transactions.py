"""The transactions sync step: the provider's ledger, appended in batches as it is read
(never rewritten), from just before the newest stored row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import closing
from datetime import datetime, timedelta
from functools import partial

from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from billing.models import Transaction
from billing.services.charge_facts import count_charges
from billing.services.estimates import estimate_rentals
from numbers.models import PhoneNumber
from numbers.services.label_facts import SHOWN_LABEL_SQL, lock_label_facts
from numbers.services.sync import LISTING_BATCH_SIZE, batched
from portal.db.bulk import AnyOf, copy_rows, insert_rows
from portal.db.parallel_writes import batch_writer
from portal.db.prefetch import prefetched
from portal.models import ProviderAccount
from portal.providers.base import ProviderAdapter, UpstreamTransaction
from portal.providers.capabilities import Capability
from portal.services.sync import SyncCounts

# Re-read this far back from the newest stored transaction, so rows the upstream dated
# slightly in the past (late postings, clock skew) between two syncs are not missed.
TRANSACTION_OVERLAP = timedelta(days=2)


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
    new = [
        {
            **row,
            "account_id": account.pk,
            "phone_number_id": number_ids.get(row["number"]),
            "is_estimate": False,
        }
        for row in new
    ]
    insert_rows(Transaction, new)
    count_charges(account, new)
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
_INSERT_STAGED = f"""
    WITH staged AS (DELETE FROM sync_transaction_staging RETURNING *),
    stored AS (
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
        RETURNING kind, amount, currency, occurred_at, number, phone_number_id
    ),
    -- The charges stored, counted in their months (billing.services.charge_facts does the
    -- same in Python elsewhere): months of the configured time zone, as the reports'.
    months AS (
        SELECT number, currency,
            date_trunc('month', occurred_at AT TIME ZONE %(zone)s)::date AS month,
            max(phone_number_id) AS phone_number_id, sum(amount) AS charged
        FROM stored WHERE kind = ANY(%(charges)s)
        GROUP BY number, currency, month
    ),
    counted AS (
        INSERT INTO numbers_numbermonth (
            account_id, number, currency, month, phone_number_id,
            calls, billed_seconds, cost, unpriced_calls, charged, estimated
        )
        SELECT %(account)s, number, currency, month, phone_number_id, 0, 0, 0, 0, charged, 0
        FROM months
        -- In key order, so two writers adding to one month wait on each other.
        ORDER BY number, month, currency
        ON CONFLICT (account_id, number, month, currency) DO UPDATE
        SET charged = numbers_numbermonth.charged + excluded.charged,
            phone_number_id = COALESCE(
                numbers_numbermonth.phone_number_id, excluded.phone_number_id
            )
        RETURNING 1
    ),
    -- The same charges under the labels their numbers show (numbers.services.label_facts).
    labelled AS (
        INSERT INTO numbers_labelmonth (
            account_id, label, currency, month,
            calls, billed_seconds, cost, unpriced_calls, charged, estimated
        )
        SELECT %(account)s, {SHOWN_LABEL_SQL.format(phone="phone")},
            months.currency, months.month, 0, 0, 0, 0, sum(months.charged), 0
        FROM months
        LEFT JOIN numbers_phonenumber AS phone
            ON phone.provider_id = %(provider)s AND phone.number = months.number
        GROUP BY 2, 3, 4
        ORDER BY 2, 4, 3
        ON CONFLICT (account_id, label, month, currency) DO UPDATE
        SET charged = numbers_labelmonth.charged + excluded.charged
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM counted),
        (SELECT count(*) FROM labelled)
"""  # noqa: S608 - table and column names only; values go as parameters


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
    forth, and the count of rows inserted is the database's own. The same statement counts
    the charges it stored in their months."""
    lock_label_facts(account.provider_id)
    with connection.cursor() as cursor:
        cursor.execute(_STAGE)
        copy_rows(cursor, "sync_transaction_staging", _LEDGER_FIELDS, rows)
        cursor.execute(
            _INSERT_STAGED,
            {
                "account": account.pk,
                "now": timezone.now(),
                "provider": account.provider_id,
                "zone": timezone.get_default_timezone_name(),
                "charges": [str(kind) for kind in Transaction.DEBIT_KINDS],
            },
        )
        stored, _, _ = cursor.fetchone()
    return stored
