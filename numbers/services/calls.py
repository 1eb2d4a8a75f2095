"""The call-records sync step: the provider's calls, appended (never rewritten but to price
them), and the usage rollups (NumberDay, NumberMonth) moved by exactly what was appended,
in the same transaction, so that no page ever adds up calls.

The read is incremental: from a little before the account's `calls_synced_until`, a
window at a time (oldest first) where the provider filters by time, the mark moving past
each window once it is stored whole; in one pass newest first where it does not (TryVox),
the mark moving only once the pass is complete. A read cut off part way (an error, the
run's deadline, a killed process) therefore keeps the whole windows it stored and leaves
no gap: the next run reads on from the mark, and what it reads twice is skipped by id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, OuterRef, Q, Subquery
from django.utils import timezone

from numbers.models import Call, PhoneNumber
from numbers.services.facts import FactDelta
from numbers.services.label_facts import SHOWN_LABEL_SQL, lock_label_facts
from numbers.services.sync import batched
from portal.db.bulk import AnyOf, copy_rows, insert_rows
from portal.db.prefetch import prefetched
from portal.models import ProviderAccount
from portal.providers.base import CallPrice, ProviderAdapter, UpstreamCall
from portal.providers.capabilities import Capability
from portal.services.sync import SyncCounts

# Re-read this far back from the mark: calls a provider records a little late (a CDR
# written when the call ends, dated when it began) are not missed.
CALL_OVERLAP = timedelta(hours=6)
CALL_BATCH_SIZE = 2000
# Unpriced calls are priced this many at a time, oldest first.
PRICING_BATCH_SIZE = 500


def sync_calls(
    account: ProviderAccount,
    adapter: ProviderAdapter,
    *,
    now: datetime,
    progress: Callable[[SyncCounts], None] = lambda counts: None,
) -> SyncCounts:
    """Append the calls started since the mark, price the calls still unpriced, and drop
    raw calls past their retention (their rollups stay)."""
    if not adapter.supports(Capability.CALL_RECORDS):
        return SyncCounts(from_upstream=False)
    counts = SyncCounts()
    # The next batch is fetched and parsed in a thread while this one is written (see
    # portal.db.prefetch); a window's end comes after its last batch, in order.
    listing = _listing(adapter, call_windows(account, adapter, now))
    with closing(prefetched(listing)) as items:
        for item in items:
            if isinstance(item, datetime):
                # Everything started before `item` is stored now (re-read with an overlap).
                ProviderAccount.objects.filter(pk=account.pk).update(calls_synced_until=item)
                account.calls_synced_until = item
                continue
            counts.fetched += len(item)
            counts.created += append_calls(account, item)
            progress(counts)
    counts.updated += price_unpriced_calls(account, adapter, progress=progress, counts=counts)
    forget_old_calls(account, now)
    return counts


def _listing(
    adapter: ProviderAdapter, windows: list[tuple[datetime, datetime]]
) -> Iterator[list[UpstreamCall] | datetime]:
    """The calls of each window in batches, then the window's end: fetched and parsed
    only, so it can run in the prefetch thread (no database)."""
    for start, end in windows:
        yield from batched(adapter.iter_calls(start, end), CALL_BATCH_SIZE)
        yield end


def call_windows(
    account: ProviderAccount, adapter: ProviderAdapter, now: datetime
) -> list[tuple[datetime, datetime]]:
    """The stretches to read, oldest first: from the mark (less the overlap), or from the
    start of the retention on a first sync, up to `now`."""
    floor = now - timedelta(days=settings.CALL_RETENTION_DAYS)
    mark = account.calls_synced_until
    start = max(floor, mark - CALL_OVERLAP) if mark else floor
    if not adapter.calls_filter_by_time:
        return [(start, now)]
    step = timedelta(days=settings.CALL_SYNC_WINDOW_DAYS)
    windows = []
    while start < now:
        windows.append((start, min(start + step, now)))
        start += step
    return windows


@transaction.atomic
def append_calls(account: ProviderAccount, records: Iterable[UpstreamCall]) -> int:
    """Store the calls whose ids are not stored yet and add them to the rollups, all or
    nothing. Returns how many were new."""
    records = {record.upstream_id[:128]: record for record in records}
    if connection.vendor == "postgresql":
        return _append_through_staging(account, records.values())
    known = set(
        Call.objects.filter(AnyOf(F("upstream_id"), list(records)), account=account).values_list(
            "upstream_id", flat=True
        )
    )
    new = [record for key, record in records.items() if key not in known]
    if not new:
        return 0
    held = _numbers_held(account, new)
    rows = [_call_values(account, record, held) for record in new]
    insert_rows(Call, rows)
    delta = FactDelta(account)
    for row in rows:
        delta.add_call(row)
    delta.save()
    _advance_last_calls(rows)
    return len(rows)


# PostgreSQL: a batch is staged in a temporary table of the session (as the ledger's is,
# billing.services.transactions), then stored by one statement that does all the rest in
# the database: each call put on the account's number it was on (the same rule as
# `_own_side`), the ids already stored skipped (ON CONFLICT on the unique account + id), the
# rollups moved by exactly the calls inserted (as FactDelta.add_call moves them: days of the
# configured time zone, billed seconds else the duration, unpriced calls counted apart),
# and the numbers' last call advanced. Python only copies the rows in.
_STAGE_CALLS = """
    CREATE TEMPORARY TABLE IF NOT EXISTS sync_call_staging (
        upstream_id varchar(128), started_at timestamptz, from_number text, to_number text,
        direction varchar(10), status varchar(30), duration_seconds integer,
        billed_seconds integer, cost numeric, currency varchar(3), parts jsonb
    ) ON COMMIT DELETE ROWS
"""
_STAGED_COLUMNS = (
    "upstream_id",
    "started_at",
    "from_number",
    "to_number",
    "direction",
    "status",
    "duration_seconds",
    "billed_seconds",
    "cost",
    "currency",
    "parts",
)
_FACT_SUMS = """
    count(*), sum(seconds), sum(cost), sum(unpriced)
"""
_CALLS_ADDED = """
    calls = {table}.calls + excluded.calls,
    billed_seconds = {table}.billed_seconds + excluded.billed_seconds,
    cost = {table}.cost + excluded.cost,
    unpriced_calls = {table}.unpriced_calls + excluded.unpriced_calls
"""
_FACT_UPDATES = (
    _CALLS_ADDED
    + """,
    phone_number_id = COALESCE({table}.phone_number_id, excluded.phone_number_id)
"""
)
_INSERT_STAGED_CALLS = f"""
    WITH staged AS (DELETE FROM sync_call_staging RETURNING *),
    parties AS (
        SELECT staged.*, to_phone.id AS to_id, from_phone.id AS from_id
        FROM staged
        LEFT JOIN numbers_phonenumber AS to_phone
            ON to_phone.provider_id = %(provider)s AND to_phone.number = staged.to_number
            AND to_phone.account_id = %(account)s
        LEFT JOIN numbers_phonenumber AS from_phone
            ON from_phone.provider_id = %(provider)s AND from_phone.number = staged.from_number
            AND from_phone.account_id = %(account)s
    ),
    sides AS (
        -- The direction says which side is the account's; else the side it holds.
        SELECT parties.*,
            CASE WHEN direction = 'outbound' THEN from_id IS NOT NULL
                ELSE to_id IS NULL AND from_id IS NOT NULL END AS own_from,
            CASE WHEN direction = 'outbound' THEN from_id IS NULL AND to_id IS NOT NULL
                ELSE to_id IS NOT NULL END AS own_to
        FROM parties
    ),
    inserted AS (
        INSERT INTO numbers_call (
            account_id, phone_number_id, number, other_party, upstream_id, direction, status,
            started_at, duration_seconds, billed_seconds, cost, currency, parts, created_at
        )
        SELECT %(account)s,
            CASE WHEN own_from THEN from_id WHEN own_to THEN to_id END,
            CASE WHEN own_from THEN from_number WHEN own_to THEN to_number ELSE '' END,
            left(CASE WHEN own_from THEN to_number WHEN own_to THEN from_number
                ELSE concat_ws(' → ', NULLIF(from_number, ''), NULLIF(to_number, '')) END, 64),
            upstream_id, direction, status, started_at, duration_seconds, billed_seconds,
            cost, currency, parts, %(now)s
        FROM sides
        ORDER BY upstream_id
        ON CONFLICT (account_id, upstream_id) DO NOTHING
        RETURNING phone_number_id, number, started_at, duration_seconds, billed_seconds,
            cost, currency
    ),
    facts AS (
        SELECT phone_number_id, number, currency,
            (started_at AT TIME ZONE %(zone)s)::date AS day,
            COALESCE(billed_seconds, duration_seconds) AS seconds,
            COALESCE(cost, 0) AS cost, (cost IS NULL)::int AS unpriced
        FROM inserted
    ),
    days AS (
        INSERT INTO numbers_numberday (
            account_id, number, day, currency, phone_number_id,
            calls, billed_seconds, cost, unpriced_calls
        )
        SELECT %(account)s, number, day, currency, max(phone_number_id), {_FACT_SUMS}
        FROM facts GROUP BY number, day, currency ORDER BY number, day, currency
        ON CONFLICT (account_id, number, day, currency) DO UPDATE SET
        {_FACT_UPDATES.format(table="numbers_numberday")}
    ),
    months AS (
        INSERT INTO numbers_numbermonth (
            account_id, number, month, currency, phone_number_id,
            calls, billed_seconds, cost, unpriced_calls, charged, estimated
        )
        SELECT %(account)s, number, date_trunc('month', day)::date AS month, currency,
            max(phone_number_id), {_FACT_SUMS}, 0, 0
        FROM facts GROUP BY number, month, currency ORDER BY number, month, currency
        ON CONFLICT (account_id, number, month, currency) DO UPDATE SET
        {_FACT_UPDATES.format(table="numbers_numbermonth")}
    ),
    labels AS (
        -- The same months under the labels their numbers show (numbers.services.label_facts).
        INSERT INTO numbers_labelmonth (
            account_id, label, month, currency,
            calls, billed_seconds, cost, unpriced_calls, charged, estimated
        )
        SELECT %(account)s, {SHOWN_LABEL_SQL.format(phone="phone")},
            date_trunc('month', facts.day)::date, facts.currency,
            count(*), sum(facts.seconds), sum(facts.cost), sum(facts.unpriced), 0, 0
        FROM facts
        LEFT JOIN numbers_phonenumber AS phone
            ON phone.provider_id = %(provider)s AND phone.number = facts.number
        GROUP BY 2, 3, 4 ORDER BY 2, 3, 4
        ON CONFLICT (account_id, label, month, currency) DO UPDATE SET
        {_CALLS_ADDED.format(table="numbers_labelmonth")}
    ),
    latest AS (
        UPDATE numbers_phonenumber AS phone SET last_call_at = called.latest
        FROM (
            SELECT phone_number_id, max(started_at) AS latest FROM inserted
            WHERE phone_number_id IS NOT NULL GROUP BY phone_number_id
        ) AS called
        WHERE phone.id = called.phone_number_id
            AND (phone.last_call_at IS NULL OR phone.last_call_at < called.latest)
    )
    SELECT count(*) FROM inserted
"""  # noqa: S608 - table and column names only; values go as parameters


def _staged_values(account: ProviderAccount, record: UpstreamCall) -> tuple:
    return (
        record.upstream_id[:128],
        record.started_at,
        record.from_number,
        record.to_number,
        record.direction,
        record.status[:30],
        max(0, record.duration_seconds),
        record.billed_seconds,
        record.cost,
        record.currency or account.currency,
        json.dumps(dict(record.parts)),
    )


def _append_through_staging(account: ProviderAccount, records: Iterable[UpstreamCall]) -> int:
    """PostgreSQL: the batch copied into the staging table, then stored by one statement
    (`_INSERT_STAGED_CALLS`). Returns how many calls were new."""
    lock_label_facts(account.provider_id)
    with connection.cursor() as cursor:
        cursor.execute(_STAGE_CALLS)
        copy_rows(
            cursor,
            "sync_call_staging",
            _STAGED_COLUMNS,
            (_staged_values(account, record) for record in records),
        )
        cursor.execute(
            _INSERT_STAGED_CALLS,
            {
                "account": account.pk,
                "provider": account.provider_id,
                "now": timezone.now(),
                "zone": timezone.get_default_timezone_name(),
            },
        )
        return cursor.fetchone()[0]


def price_unpriced_calls(
    account: ProviderAccount,
    adapter: ProviderAdapter,
    *,
    progress: Callable[[SyncCounts], None] = lambda counts: None,
    counts: SyncCounts | None = None,
) -> int:
    """Ask the provider for the prices of the calls stored unpriced, oldest first; a call
    it has not priced yet stays unpriced for a later sync. Returns how many were priced."""
    priced = 0
    for chunk in _unpriced_chunks(account):
        prices = adapter.price_calls([(call.upstream_id, call.started_at) for call in chunk])
        priced += _store_prices(account, chunk, prices)
        if counts is not None:
            counts.updated = priced
            progress(counts)
    return priced


def _unpriced_chunks(account: ProviderAccount) -> Iterator[list[Call]]:
    """The unpriced calls, a chunk at a time, oldest first: each asked for once a run,
    whether the provider priced it or not."""
    unpriced = Call.objects.filter(account=account, cost__isnull=True).order_by("started_at", "pk")
    page = unpriced
    while chunk := list(page[:PRICING_BATCH_SIZE]):
        yield chunk
        last = chunk[-1]
        page = unpriced.filter(
            Q(started_at__gt=last.started_at) | Q(started_at=last.started_at, pk__gt=last.pk)
        )


@transaction.atomic
def _store_prices(account: ProviderAccount, calls: list[Call], prices: dict[str, CallPrice]) -> int:
    """Price the calls the provider priced, and move their rollups from unpriced to priced
    (and to the price's currency, should it differ from the account's)."""
    delta = FactDelta(account)
    priced = []
    for call in calls:
        price = prices.get(call.upstream_id)
        if price is None:
            continue
        delta.add_call(_fact_values(call), sign=-1)
        call.cost = price.cost
        call.currency = price.currency or call.currency
        if price.billed_seconds is not None:
            call.billed_seconds = price.billed_seconds
        call.parts = {**call.parts, **price.parts}
        delta.add_call(_fact_values(call))
        priced.append(call)
    Call.objects.bulk_update(priced, ["cost", "currency", "billed_seconds", "parts"])
    delta.save()
    return len(priced)


def forget_old_calls(account: ProviderAccount, now: datetime) -> int:
    """Delete raw calls past their retention; the rollups they are counted in stay."""
    cutoff = now - timedelta(days=settings.CALL_RETENTION_DAYS)
    deleted, _ = Call.objects.filter(account=account, started_at__lt=cutoff).delete()
    return deleted


def _numbers_held(account: ProviderAccount, records: list[UpstreamCall]) -> dict[str, int]:
    """The account's numbers (released ones included: a call on a number held then) among
    the calls' parties, E.164 → id."""
    parties = {party for record in records for party in (record.from_number, record.to_number)}
    parties.discard("")
    if not parties:
        return {}
    return dict(
        PhoneNumber.objects.filter(AnyOf(F("number"), list(parties)), account=account).values_list(
            "number", "pk"
        )
    )


def _own_side(record: UpstreamCall, held: dict[str, int]) -> tuple[str, str]:
    """(the account's number the call was on or "", the other party). The direction says
    which side is the account's where the record states it; else the side it holds."""
    sides = [(record.to_number, record.from_number), (record.from_number, record.to_number)]
    if record.direction == "outbound":
        sides.reverse()
    for own, other in sides:
        if own in held:
            return own, other
    # On no number the account holds (a web call, or a number not synced yet): usage of
    # the account itself, kept with both parties as published.
    return "", " → ".join(party for party in (record.from_number, record.to_number) if party)


def _call_values(account: ProviderAccount, record: UpstreamCall, held: dict[str, int]) -> dict:
    own, other = _own_side(record, held)
    return {
        "account_id": account.pk,
        "phone_number_id": held.get(own),
        "number": own,
        "other_party": other[:64],
        "upstream_id": record.upstream_id[:128],
        "direction": record.direction,
        "status": record.status[:30],
        "started_at": record.started_at,
        "duration_seconds": max(0, record.duration_seconds),
        "billed_seconds": record.billed_seconds,
        "cost": record.cost,
        "currency": record.currency or account.currency,
        "parts": dict(record.parts),
    }


def _fact_values(call: Call) -> dict:
    return {
        "phone_number_id": call.phone_number_id,
        "number": call.number,
        "started_at": call.started_at,
        "duration_seconds": call.duration_seconds,
        "billed_seconds": call.billed_seconds,
        "cost": call.cost,
        "currency": call.currency,
    }


def _advance_last_calls(rows: list[dict]) -> None:
    """Set the last call of the numbers just called: the newest of their stored calls (one
    statement; each a lookup in the calls' (number, start) index)."""
    called = {row["phone_number_id"] for row in rows} - {None}
    if not called:
        return
    latest = (
        Call.objects.filter(phone_number=OuterRef("pk"))
        .order_by()
        .values("phone_number")
        .annotate(latest=Max("started_at"))
        .values("latest")
    )
    PhoneNumber.objects.filter(pk__in=called).update(last_call_at=Subquery(latest))
