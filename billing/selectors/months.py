"""Calendar months in the report zone, and amounts summed per currency: what the spend,
recurring and balance figures share.

Months are calendar months in the configured time zone (TIME_ZONE), so a charge at 23:30 on
31 January in that zone is January's even where UTC says February. Every sum is made by
the database and grouped by currency: amounts in different currencies are never added."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from billing.models import Transaction
from portal.money import money_sum

ZERO = Decimal(0)
PERCENT_PLACES = Decimal("0.1")
CENTS = Decimal("0.01")

# --- months ---------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after (or before) `month`'s."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def local_midnight(day: date) -> datetime:
    """The start of `day` in the configured time zone, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()), report_zone())


def report_zone():
    return timezone.get_default_timezone()


@dataclass(frozen=True)
class MonthRange:
    """Whole calendar months from `first` to `last` (each the first day of its month)."""

    first: date
    last: date

    @classmethod
    def ending(cls, last: date, count: int) -> MonthRange:
        last = month_start(last)
        return cls(add_months(last, 1 - count), last)

    @property
    def months(self) -> list[date]:
        months, month = [], self.first
        while month <= self.last:
            months.append(month)
            month = add_months(month, 1)
        return months

    @property
    def count(self) -> int:
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1

    @property
    def starts_at(self) -> datetime:
        return local_midnight(self.first)

    @property
    def ends_before(self) -> datetime:
        return local_midnight(add_months(self.last, 1))


def this_month(now: datetime | None = None) -> date:
    return month_start(timezone.localdate(now or timezone.now(), report_zone()))


# --- amounts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Amount:
    """A sum in one currency and the part of it estimated from number fees."""

    amount: Decimal = ZERO
    estimated: Decimal = ZERO

    @property
    def is_estimated(self) -> bool:
        return self.estimated > 0

    @property
    def is_all_estimated(self) -> bool:
        return self.amount > 0 and self.estimated == self.amount


def charge_rows():
    return Transaction.objects.filter(kind__in=Transaction.DEBIT_KINDS)


def money_sums():
    """Sum of the amounts and of their estimated part, for `annotate`."""
    return {
        "total": money_sum("amount"),
        "estimated": money_sum("amount", filter=Q(is_estimate=True)),
    }


def amount_from_row(row) -> Amount:
    return Amount(row["total"], row["estimated"])


def change_percent(change: Decimal, previous: Decimal) -> Decimal | None:
    """The change in percent of what came before, to 0.1 %; None when nothing came before."""
    if not previous:
        return None
    return (change * 100 / previous).quantize(PERCENT_PLACES)


def add_amounts(amounts: list[Amount], more: list[Amount]) -> list[Amount]:
    return [
        Amount(a.amount + b.amount, a.estimated + b.estimated)
        for a, b in zip(amounts, more, strict=True)
    ]


def sum_amounts(amounts: list[Amount]) -> Amount:
    return Amount(sum((a.amount for a in amounts), ZERO), sum((a.estimated for a in amounts), ZERO))
