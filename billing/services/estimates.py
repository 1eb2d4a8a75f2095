"""Rentals the portal estimates from number fees, for providers whose ledger it cannot read
(Ravan, TryVox): one charge per rental period, marked as an estimate."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction

from billing.models import Transaction
from billing.services.charge_facts import CHARGE_VALUES, count_charges
from numbers.models import PhoneNumber
from numbers.services.sync import BATCH_SIZE, batched
from portal.models import ProviderAccount
from portal.providers.base import ProviderAdapter
from portal.services.sync import SyncCounts

# Estimates cover at most this far back: older rentals are history nobody budgets against.
ESTIMATE_HORIZON = timedelta(days=366)
ESTIMATE_PREFIX = "est:"


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
    count_charges(account, ({name: getattr(e, name) for name in CHARGE_VALUES} for e in new))
    return len(new)
