"""Renewals ahead, for providers that renew each number every fixed period (Ravan: every 28
days, the number released for good 48 hours after a renewal that could not be paid).

Ravan publishes no renewal date: each is derived from the number's purchase date, which
the sync keeps, as purchase + n * period (n ≥ 1), as ravan.md §2.6 describes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from numbers.models import PhoneNumber
from portal.models import ProviderAccount


def renewal_dates(
    purchased_at: datetime, period_days: int, *, after: datetime, until: datetime
) -> list[datetime]:
    """The renewal dates of a number bought at `purchased_at`, later than `after` and no
    later than `until`."""
    period = timedelta(days=period_days)
    # The first renewal later than `after` (the purchase itself paid the first period).
    index = max(1, (after - purchased_at) // period + 1)
    dates = []
    while (due := purchased_at + index * period) <= until:
        dates.append(due)
        index += 1
    return dates


@dataclass(frozen=True)
class Renewal:
    number: PhoneNumber
    due_at: datetime
    fee: Decimal | None  # in the account's currency; None: not known


@dataclass
class RenewalOutlook:
    """An account's renewals due in a window, earliest first."""

    period_days: int
    grace: timedelta | None
    renewals: list[Renewal] = field(default_factory=list)
    undated: int = 0  # numbers held without a known purchase date: their renewals unknown

    @property
    def known_total(self) -> Decimal:
        return sum((r.fee for r in self.renewals if r.fee is not None), Decimal(0))

    @property
    def unknown_fees(self) -> int:
        return sum(1 for renewal in self.renewals if renewal.fee is None)


def renewals_due(account: ProviderAccount, *, now: datetime, within: timedelta):
    """The account's renewals due from now until `now + within`, or None where its
    provider does not renew per period. A suspended number whose renewal date passed less
    than the grace ago has not been paid for yet: that renewal is still due."""
    adapter = account.provider.adapter
    period_days = adapter.rental_period_days if adapter else None
    if not period_days:
        return None
    grace = timedelta(hours=adapter.renewal_grace_hours) if adapter.renewal_grace_hours else None
    outlook = RenewalOutlook(period_days, grace)
    numbers = (
        PhoneNumber.objects.filter(account=account)
        .exclude(status=PhoneNumber.Status.RELEASED)
        .only("number", "status", "purchased_at", "period_fee", "rental_period_days", "currency")
        .order_by("number")
    )
    for number in numbers.iterator(chunk_size=2000):
        if number.purchased_at is None:
            outlook.undated += 1
            continue
        after = now
        if grace is not None and number.status == PhoneNumber.Status.SUSPENDED:
            after = now - grace
        # The fee is the number's rental per this period, in the account's currency.
        known = (
            number.period_fee is not None
            and number.rental_period_days == period_days
            and number.currency == account.currency
        )
        for due in renewal_dates(number.purchased_at, period_days, after=after, until=now + within):
            outlook.renewals.append(Renewal(number, due, number.period_fee if known else None))
    outlook.renewals.sort(key=lambda renewal: (renewal.due_at, renewal.number.number))
    return outlook
