"""Spend per month by provider, account or number label, with the change from month to
month. Charges the portal estimated from number fees (providers without a billing API) are
counted like the others and reported separately, so the page can say which are estimates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import models
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from billing.report_cache import cached_rows
from billing.selectors.months import (
    ZERO,
    Amount,
    MonthRange,
    add_amounts,
    add_months,
    change_percent,
    charge_rows,
    local_midnight,
    report_zone,
    sum_amounts,
    this_month,
)
from portal.models import ProviderAccount
from portal.money import format_money, money_sum

# --- spend per month ------------------------------------------------------------------------


class Breakdown(models.TextChoices):
    PROVIDER = "provider", "Provider"
    ACCOUNT = "account", "Account"
    LABEL = "label", "Number label"


NO_LABEL = "(no label)"
# The label a number shows in the portal: its own, else the one it has at the provider.
_NUMBER_LABEL = Coalesce(
    NullIf(F("phone_number__label"), Value("")),
    NullIf(F("phone_number__upstream_label"), Value("")),
    Value(""),
    output_field=models.CharField(),
)
# What the database groups charges by. Provider and account group by the account alone,
# with no join: the account's name and provider come from the accounts table afterwards.
_GROUP_KEYS = {
    Breakdown.PROVIDER: F("account_id"),
    Breakdown.ACCOUNT: F("account_id"),
    Breakdown.LABEL: _NUMBER_LABEL,
}
CHART_GROUPS = 6  # the biggest groups get a colour each; the rest share one


@dataclass(frozen=True)
class MonthSpend:
    month: date
    spend: Amount
    # From the month before; for the month under way, from the same days of the month
    # before (1 November to `compared_until`, against 1 December to now).
    change: Decimal
    change_percent: Decimal | None  # None when what it is compared with had no spend
    compared_until: datetime | None = None  # set for the month under way only

    @property
    def compared_through(self) -> date | None:
        """The last day of the month before that the month under way is compared with."""
        if self.compared_until is None:
            return None
        last = timezone.localdate(self.compared_until - timedelta(microseconds=1), report_zone())
        return max(last, add_months(self.month, -1))


@dataclass
class SpendGroup:
    key: str
    name: str
    detail: str
    cells: list[Amount]  # one per month of the period
    total: Amount
    # The period's last month against the one before it (None for a one-month period).
    change: Decimal | None = None


@dataclass
class CurrencySpend:
    currency: str
    months: list[MonthSpend]
    groups: list[SpendGroup]
    total: Amount
    breakdown: str

    def chart(self) -> dict:
        """What the chart draws (static/portal/charts.js), amounts as decimal strings:
        one stacked bar per month, the biggest groups each in a colour, the rest together."""
        shown, rest = self.groups[:CHART_GROUPS], self.groups[CHART_GROUPS:]
        datasets = [
            _dataset(group.name, [cell.amount for cell in group.cells], [group.total])
            for group in shown
        ]
        if rest:
            # Each month's total less the groups drawn: one currency, so a plain difference.
            others = [
                month.spend.amount - sum((group.cells[index].amount for group in shown), ZERO)
                for index, month in enumerate(self.months)
            ]
            label = f"{len(rest)} other {Breakdown(self.breakdown).label.lower()}s"
            datasets.append(_dataset(label, others, [group.total for group in rest]))
        return {
            "currency": self.currency,
            # Two lines under each bar, "Mar" over "2025": short enough to stay level.
            "labels": [[f"{month.month:%b}", f"{month.month:%Y}"] for month in self.months],
            "totals": [month.spend.amount for month in self.months],
            "datasets": datasets,
        }


def _dataset(name: str, amounts: list[Decimal], totals: list[Amount]) -> dict:
    if all(total.is_all_estimated for total in totals):
        name = f"{name} (estimated)"
    elif any(total.is_estimated for total in totals):
        name = f"{name} (incl. estimated)"
    return {"label": name, "data": amounts, "text": [format_money(amount) for amount in amounts]}


@dataclass
class SpendReport:
    period: MonthRange
    breakdown: str
    currencies: list[CurrencySpend] = field(default_factory=list)


def spend_by_month(
    period: MonthRange, breakdown: str = Breakdown.PROVIDER, *, now: datetime | None = None
) -> SpendReport:
    """Charges (debit, recurring and usage; credits are money in, not spend) per month of
    `period`, per currency, broken down by provider, account or number label, with each
    month's change from the month before. A month under way at `now` is compared with the
    same days of the month before, never with the whole of it. One grouped query, whatever
    the data size (and a look-up of the accounts' names for a breakdown by provider or
    account): every total is the exact sum of the cells it covers."""
    breakdown = Breakdown(breakdown)
    # To the minute: the query, and so the cached result, stays the same for a minute.
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    # One month earlier too, so the first month of the period has a change as well.
    months = [add_months(period.first, -1), *period.months]
    compared_until = _same_time_a_month_before(now) if period.last == this_month(now) else None
    sums = _sum_per_month(months)
    if compared_until is not None:
        sums[SO_FAR_BEFORE] = money_sum(
            "amount",
            filter=Q(occurred_at__gte=local_midnight(months[-2]), occurred_at__lt=compared_until),
        )
    rows = cached_rows(
        charge_rows()
        .filter(occurred_at__gte=local_midnight(months[0]), occurred_at__lt=period.ends_before)
        .values("currency", "is_estimate", group_key=_GROUP_KEYS[breakdown])
        .annotate(in_period=Count("pk", filter=Q(occurred_at__gte=period.starts_at)), **sums)
        .order_by()
    )
    describe = _group_describer(breakdown, {row["group_key"] for row in rows})
    month_totals = defaultdict(lambda: [Amount()] * len(months))
    # What the same days of the month before came to, per currency and per group.
    so_far_before = defaultdict(lambda: ZERO)
    group_so_far_before = defaultdict(lambda: defaultdict(lambda: ZERO))
    # Per currency, the cells of each group, keyed by its (key, name, detail).
    empty_cells = [Amount()] * period.count
    group_cells = defaultdict(lambda: defaultdict(empty_cells.copy))
    for row in rows:
        currency, amounts = row["currency"], _month_amounts(row, months)
        month_totals[currency] = add_amounts(month_totals[currency], amounts)
        before = row.get(SO_FAR_BEFORE, ZERO)
        so_far_before[currency] += before
        if row["in_period"]:  # charged only in the month before: counts for no group
            cells = group_cells[currency]
            group = describe(row["group_key"])
            cells[group] = add_amounts(cells[group], amounts[1:])
            group_so_far_before[currency][group] += before

    report = SpendReport(period, breakdown)
    for currency in sorted(group_cells):
        groups = [
            _spend_group(
                *group,
                cells,
                before=group_so_far_before[currency][group] if compared_until else None,
            )
            for group, cells in group_cells[currency].items()
        ]
        groups.sort(key=lambda g: (-g.total.amount, g.name.casefold()))
        totals = month_totals[currency]
        spends = _month_spends(period.months, totals)
        if compared_until is not None:
            spends[-1] = _so_far(spends[-1], so_far_before[currency], compared_until)
        report.currencies.append(
            CurrencySpend(currency, spends, groups, sum_amounts(totals[1:]), breakdown)
        )
    return report


SO_FAR_BEFORE = "so_far_before"


def _same_time_a_month_before(now: datetime) -> datetime:
    """As far into the month before as `now` is into its own month: 7 November 06:31 for 7
    December 06:31; the end of a shorter month at most (28 February for 31 March)."""
    current = this_month(now)
    elapsed = now - local_midnight(current)
    return min(local_midnight(add_months(current, -1)) + elapsed, local_midnight(current))


def _so_far(month: MonthSpend, before: Decimal, compared_until: datetime) -> MonthSpend:
    change = month.spend.amount - before
    return replace(
        month,
        change=change,
        change_percent=change_percent(change, before),
        compared_until=compared_until,
    )


def _spend_group(
    key: str, name: str, detail: str, cells: list[Amount], *, before: Decimal | None
) -> SpendGroup:
    """A group's row; `before`, for a period ending with the month under way, what the
    group came to on the same days of the month before, its change compared with that."""
    group = SpendGroup(key, name, detail, cells, sum_amounts(cells))
    if before is not None:
        group.change = cells[-1].amount - before
    elif len(cells) > 1:
        group.change = cells[-1].amount - cells[-2].amount
    return group


def _sum_per_month(months: list[date]) -> dict:
    """A sum of the amounts for each month, `month_0` for the first, for `annotate`.

    One conditional sum a month over the month's bounds (local midnights), rather than
    grouping by the month truncated in the database: grouped on a few columns, PostgreSQL
    knows there are few groups and adds in parallel, where a month expression makes it
    expect a group per row; and no row's date has to be converted to the time zone."""
    return {
        f"month_{index}": money_sum(
            "amount",
            filter=Q(
                occurred_at__gte=local_midnight(month),
                occurred_at__lt=local_midnight(add_months(month, 1)),
            ),
        )
        for index, month in enumerate(months)
    }


def _month_amounts(row: dict, months: list[date]) -> list[Amount]:
    """A row's sums per month, as amounts with their estimated part."""
    sums = [row[f"month_{index}"] for index in range(len(months))]
    if row["is_estimate"]:
        return [Amount(amount, amount) for amount in sums]
    return [Amount(amount) for amount in sums]


def _month_spends(months: list[date], totals: list[Amount]) -> list[MonthSpend]:
    """Each month's spend and its change; `totals` starts with the month before the first."""
    spends = []
    for previous, spend, month in zip(totals[:-1], totals[1:], months, strict=True):
        change = spend.amount - previous.amount
        spends.append(MonthSpend(month, spend, change, change_percent(change, previous.amount)))
    return spends


def _group_describer(breakdown: Breakdown, keys: set):
    """A function from a row's group key to the group's (key, name, detail)."""
    if breakdown == Breakdown.LABEL:
        return lambda label: (label, label or NO_LABEL, "")
    accounts = (
        ProviderAccount.objects.select_related("provider")
        .only("name", "provider__slug", "provider__name")
        .in_bulk(keys)
    )
    if breakdown == Breakdown.PROVIDER:
        return lambda pk: (accounts[pk].provider.slug, accounts[pk].provider.name, "")
    return lambda pk: (str(pk), accounts[pk].name, accounts[pk].provider.name)
