"""Writes to phone numbers: the sync of owned numbers from a provider."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from datetime import datetime
from itertools import islice

from django.db import transaction
from django.db.models import F

from numbers.fees import fee_values
from numbers.models import FeeSource, PhoneNumber
from numbers.services.label_facts import lock_label_facts, move_labels, shown_label
from portal.db.bulk import AnyOf, insert_rows
from portal.db.prefetch import prefetched
from portal.models import ProviderAccount
from portal.providers.base import OwnedNumber, ProviderAdapter
from portal.providers.phone import country_of
from portal.services.sync import SyncCounts

BATCH_SIZE = 500
# Rows of an upstream listing written per transaction: each batch costs a few round trips
# to the database whatever its size, so bigger batches cost less per row, while memory
# holds a handful of them (see portal.db.prefetch and portal.db.parallel_writes).
LISTING_BATCH_SIZE = 2000

# The fields sync owns. The portal's own fields (label, tags) are never among them.
SYNCED_FIELDS = (
    "account_id",
    "upstream_id",
    "upstream_label",
    "status",
    "country",
    "region",
    "number_type",
    "voice",
    "sms",
    "mms",
    "fax",
    "setup_fee",
    "setup_fee_source",
    "period_fee",
    "rental_period_days",
    "monthly_fee",
    "monthly_fee_source",
    "currency",
    "purchased_at",
    "released_at",
)


def batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def synced_values(
    record: OwnedNumber,
    account: ProviderAccount,
    now: datetime,
    *,
    period_days: int | None = None,
    fee_source: FeeSource = FeeSource.LISTING,
) -> dict:
    """The row's synced fields as the upstream record states them.

    Sync never forgets: a field the record does not state (no region, no capabilities, no
    known type, no fee, no purchase date: what a listing may leave out) is left out, so the
    row keeps what the portal learned from a purchase, a detail call or an earlier answer.
    `period_days` is the provider's rental period (numbers.fees), `fee_source` where the
    record's fees come from."""
    released = record.status == PhoneNumber.Status.RELEASED
    values = {
        "account_id": account.pk,
        "upstream_id": record.upstream_id[:100],
        "upstream_label": record.label[:255],
        "status": record.status,
        "country": record.country or country_of(record.number),
        "currency": record.currency,
        # A released row always has a date (a database rule); a live one never does.
        "released_at": (record.released_at or now) if released else None,
        **fee_values(
            setup_fee=record.setup_fee,
            rental_fee=record.monthly_fee,
            period_days=period_days,
            source=fee_source,
        ),
    }
    if record.region:
        values["region"] = record.region[:100]
    if record.number_type != PhoneNumber.Type.UNKNOWN:
        values["number_type"] = record.number_type
    if record.capabilities:
        values.update({name: name in record.capabilities for name in PhoneNumber.CAPABILITIES})
    if record.purchased_at is not None:
        values["purchased_at"] = record.purchased_at
    return values


def sync_owned_numbers(
    account: ProviderAccount,
    adapter: ProviderAdapter,
    *,
    now: datetime,
    progress: Callable[[SyncCounts], None] = lambda counts: None,
) -> SyncCounts:
    """Make the account's numbers equal to the upstream listing.

    Pages are upserted in bulk (a few queries per page, none per row) and only changed rows
    are written. Numbers missing from the listing are released, but only once the listing
    is complete: an error part way propagates before anything is released."""
    counts = SyncCounts()
    seen: set[str] = set()
    period_days = adapter.rental_period_days
    # Each record's values are worked out as it is read, in the reader's thread (see
    # portal.db.prefetch), so that work overlaps the database's rather than adding to it.
    listing = batched(
        (
            (record.number, synced_values(record, account, now, period_days=period_days))
            for record in adapter.iter_owned_numbers()
        ),
        LISTING_BATCH_SIZE,
    )
    with closing(prefetched(listing)) as batches:
        for batch in batches:
            counts.fetched += len(batch)
            fresh = {number: values for number, values in batch if number not in seen}
            seen.update(fresh)
            _upsert(account, fresh, counts, now, fill_only=adapter.listing_fills_only)
            progress(counts)
    counts.released = _release_missing(account, seen, now)
    return counts


@transaction.atomic
def _upsert(
    account,
    listed: dict[str, dict],
    counts: SyncCounts,
    now: datetime,
    *,
    fill_only: frozenset[str] = frozenset(),
):
    """Insert the numbers of `listed` (number → synced values) not stored yet and update
    the stored ones whose values differ. A field of `fill_only` (one the listing states
    less surely than what the portal learned elsewhere) is written only where the row
    holds none."""
    # Before the rows are read: a label changed meanwhile cannot be moved twice, and the
    # locks come in the order set_label takes them (see there).
    lock_label_facts(account.provider_id, exclusive=True)
    stored = _stored_values(account, list(listed))
    new_rows, changed_rows, changed_fields = [], [], set()
    # Numbers whose shown label the listing changes (their own label empty, the provider's
    # changed), or that the portal did not hold: their facts move to the label they show.
    relabelled = {}
    for number, values in listed.items():
        row = stored.get(number)
        if row is None:
            new_rows.append({"provider_id": account.provider_id, "number": number, **values})
            relabelled[number] = ("", values["upstream_label"])
            continue
        values = {
            name: value
            for name, value in values.items()
            if not (name in fill_only and row[name] is not None)
        }
        changed = [name for name, value in values.items() if row[name] != value]
        if "upstream_label" in changed:
            relabelled[number] = (
                shown_label(row["label"], row["upstream_label"]),
                shown_label(row["label"], values["upstream_label"]),
            )
        if changed:
            changed_rows.append(PhoneNumber(**{**row, **values, "updated_at": now}))
            changed_fields.update(changed)
    insert_rows(PhoneNumber, new_rows)
    if changed_rows:
        PhoneNumber.objects.bulk_update(changed_rows, [*sorted(changed_fields), "updated_at"])
    move_labels(account.provider_id, relabelled)
    counts.created += len(new_rows)
    counts.updated += len(changed_rows)


def _stored_values(account, numbers: list[str]) -> dict[str, dict]:
    """The synced fields (and pk) of the provider's rows for `numbers`, by number: plain
    values, as a model instance per row would cost more than the comparison itself."""
    columns = ("pk", "label", *SYNCED_FIELDS)
    rows = PhoneNumber.objects.filter(
        AnyOf(F("number"), numbers), provider_id=account.provider_id
    ).values_list("number", *columns)
    return {number: dict(zip(columns, values, strict=True)) for number, *values in rows}


@transaction.atomic
def _release_missing(account, seen: set[str], now: datetime) -> int:
    """Mark released every live number of the account that a complete listing lacked,
    except those changed since the sync began (`now`): a number bought through the portal
    while the listing was read is not in it, and is not gone."""
    live = PhoneNumber.objects.filter(account=account, updated_at__lte=now).exclude(
        status=PhoneNumber.Status.RELEASED
    )
    gone = [pk for pk, number in live.values_list("pk", "number") if number not in seen]
    for chunk in batched(gone, BATCH_SIZE):
        PhoneNumber.objects.filter(pk__in=chunk).update(
            status=PhoneNumber.Status.RELEASED, released_at=now, updated_at=now
        )
    return len(gone)
