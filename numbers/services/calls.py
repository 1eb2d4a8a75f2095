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

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, OuterRef, Q, Subquery

from numbers.models import Call, PhoneNumber
from numbers.services.facts import FactDelta
from numbers.services.sync import batched
from portal.db.bulk import AnyOf, insert_rows
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
    for start, end in call_windows(account, adapter, now):
        for batch in batched(adapter.iter_calls(start, end), CALL_BATCH_SIZE):
            counts.fetched += len(batch)
            counts.created += append_calls(account, batch)
            progress(counts)
        # Everything started before `end` is stored now (re-read with an overlap).
        ProviderAccount.objects.filter(pk=account.pk).update(calls_synced_until=end)
        account.calls_synced_until = end
    counts.updated += price_unpriced_calls(account, adapter, progress=progress, counts=counts)
    forget_old_calls(account, now)
    return counts


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
