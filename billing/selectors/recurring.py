"""The recurring cost of owned numbers next to the recurring charges billed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Q

from billing.models import Transaction
from billing.report_cache import cached_rows
from billing.selectors.months import (
    ZERO,
    Amount,
    add_months,
    amount_from_row,
    local_midnight,
    money_sums,
    sum_amounts,
    this_month,
)
from numbers.models import PhoneNumber
from portal.models import ProviderAccount
from portal.money import money_sum

# --- recurring cost of owned numbers against recurring charges billed ------------------------


@dataclass
class RecurringRow:
    name: str
    detail: str
    currency: str
    numbers: int = 0
    fees: Decimal = ZERO  # the known monthly fees of the active numbers held now
    unknown_fees: int = 0  # active numbers without a known fee, left out of `fees`
    billed: Amount = field(default_factory=Amount)  # recurring charges of the month

    @property
    def difference(self) -> Decimal:
        return self.billed.amount - self.fees


@dataclass
class RecurringComparison:
    month: date  # the last whole month, whose recurring charges are compared
    accounts: list[RecurringRow]
    totals: list[RecurringRow]  # one per currency


def recurring_cost_vs_billed(now: datetime | None = None) -> RecurringComparison:
    """Per account and per currency: what the active numbers cost a month (the sum of their
    monthly fees) next to the recurring charges billed in the last whole month, so a number
    billed but not held, or held but not billed, shows as a difference. Two grouped queries
    (cached while the data is unchanged) and the accounts' names."""
    month = add_months(this_month(now), -1)
    numbers = PhoneNumber.objects.filter(status=PhoneNumber.Status.ACTIVE)
    billed = Transaction.objects.filter(
        kind=Transaction.Kind.RECURRING,
        occurred_at__gte=local_midnight(month),
        occurred_at__lt=local_midnight(add_months(month, 1)),
    )
    # Grouped by the account's id alone (no join), the names looked up afterwards: the sums
    # are what the cache holds (billing.report_cache), and names may change between views.
    account = ("account_id", "currency")
    fee_sums = {
        "fees": money_sum("monthly_fee"),
        "numbers": Count("id"),
        "unknown_fees": Count("id", filter=Q(monthly_fee__isnull=True)),
    }
    fee_rows = cached_rows(numbers.values(*account).annotate(**fee_sums).order_by())
    billed_rows = cached_rows(billed.values(*account).annotate(**money_sums()).order_by())
    names = (
        ProviderAccount.objects.select_related("provider")
        .only("name", "provider__name")
        .in_bulk({row["account_id"] for row in [*fee_rows, *billed_rows]})
    )

    accounts: dict[tuple, RecurringRow] = {}

    def account_row(row) -> RecurringRow:
        named = names[row["account_id"]]
        key = (named.provider.name, named.name, row["currency"])
        if key not in accounts:
            accounts[key] = RecurringRow(key[1], key[0], key[2])
        return accounts[key]

    for row in fee_rows:
        target = account_row(row)
        target.fees, target.numbers = row["fees"], row["numbers"]
        target.unknown_fees = row["unknown_fees"]
    for row in billed_rows:
        account_row(row).billed = amount_from_row(row)

    # The totals add up the account rows: the same figures, without reading the rows again.
    totals: dict[str, RecurringRow] = {}
    for row in accounts.values():
        total = totals.setdefault(row.currency, RecurringRow("Total", "", row.currency))
        total.numbers += row.numbers
        total.fees += row.fees
        total.unknown_fees += row.unknown_fees
        total.billed = sum_amounts([total.billed, row.billed])
    return RecurringComparison(
        month=month,
        accounts=[accounts[key] for key in sorted(accounts)],
        totals=[totals[currency] for currency in sorted(totals)],
    )
