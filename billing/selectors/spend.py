"""Spend per month by provider, account or number label, with the change from month to
month. Charges the portal estimated from number fees (providers without a billing API) are
counted like the others and reported separately, so the page can say which are estimates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import models
from django.db.models import F, Q, Sum, Value
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
from numbers.models import CALL_COST_PLACES, Call, LabelMonth, NumberMonth
from portal.models import ProviderAccount
from portal.money import format_money, money_sum
from portal.providers.capabilities import Capability

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
# What the database groups rows of calls and charges by. Provider and account group by the
# account alone, with no join: the account's name and provider come from the accounts table
# afterwards.
_GROUP_KEYS = {
    Breakdown.PROVIDER: F("account_id"),
    Breakdown.ACCOUNT: F("account_id"),
    Breakdown.LABEL: _NUMBER_LABEL,
}
# The monthly facts: per number, or already added up per label (a few rows a month).
_FACTS = {
    Breakdown.PROVIDER: (NumberMonth, F("account_id")),
    Breakdown.ACCOUNT: (NumberMonth, F("account_id")),
    Breakdown.LABEL: (LabelMonth, F("label")),
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
    # The group's calls in the period and their cost (for a provider with a ledger, a part
    # of its charges; for one without, a part of its spend).
    calls: int = 0
    call_cost: Decimal = ZERO


@dataclass
class CurrencySpend:
    currency: str
    months: list[MonthSpend]
    groups: list[SpendGroup]
    total: Amount
    breakdown: str

    @property
    def call_usage(self) -> list[SpendGroup]:
        """The groups with calls in the period, the costliest first."""
        called = [group for group in self.groups if group.calls]
        return sorted(called, key=lambda g: (-g.call_cost, -g.calls, g.name.casefold()))

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
    # The providers' names, with a ledger and without, for the page to say how each one's
    # calls are counted.
    ledgers: dict[str, list[str]] = field(default_factory=dict)


def spend_by_month(
    period: MonthRange, breakdown: str = Breakdown.PROVIDER, *, now: datetime | None = None
) -> SpendReport:
    """Charges per month of `period`, per currency, broken down by provider, account or
    number label, with each month's change from the month before. A month under way at
    `now` is compared with the same days of the month before, never with the whole of it.

    Read from the monthly facts (numbers.models.NumberMonth, or LabelMonth by label), one
    grouped query whatever the data size, cached while the data is unchanged
    (billing.report_cache): the ledger's
    charges (debit, recurring and usage; credits are money in, not spend), the rentals
    estimated for providers without a ledger, and for those providers the cost of their
    calls, which no ledger of theirs holds. Where a provider
    has a ledger, its calls' cost is already in it: the calls only break it down, and are
    shown beside it (`SpendGroup.call_cost`), never added."""
    breakdown = Breakdown(breakdown)
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    # One month earlier too, so the first month of the period has a change as well.
    months = [add_months(period.first, -1), *period.months]
    compared_until = _same_time_a_month_before(now) if period.last == this_month(now) else None
    ledgers = Ledgers()
    outside_ledger = ledgers.accounts_without
    facts, group_key = _FACTS[breakdown]
    rows = cached_rows(
        facts.objects.filter(month__gte=months[0], month__lte=period.last)
        .values("currency", "month", group_key=group_key)
        .annotate(
            charged=money_sum("charged", places=CALL_COST_PLACES),
            estimated=money_sum("estimated", places=CALL_COST_PLACES),
            call_cost=money_sum("cost", places=CALL_COST_PLACES),
            usage=money_sum(
                "cost", places=CALL_COST_PLACES, filter=Q(account_id__in=outside_ledger)
            ),
            calls=Sum("calls"),
        )
        .order_by()
    )
    describe = _group_describer(breakdown, {row["group_key"] for row in rows})
    index_of = {month: index for index, month in enumerate(months)}
    month_totals = defaultdict(lambda: [Amount()] * len(months))
    # Per currency, the cells of each group, keyed by its (key, name, detail).
    group_cells = defaultdict(lambda: defaultdict(lambda: [Amount()] * period.count))
    group_calls = defaultdict(lambda: defaultdict(lambda: [0, ZERO]))
    for row in rows:
        currency, index = row["currency"], index_of[row["month"]]
        amount = Amount(row["charged"] + row["estimated"] + row["usage"], row["estimated"])
        totals = month_totals[currency]
        totals[index] = add_amounts([totals[index]], [amount])[0]
        if index == 0:  # the month before the period: counts for no group
            continue
        group = describe(row["group_key"])
        cells = group_cells[currency][group]
        cells[index - 1] = add_amounts([cells[index - 1]], [amount])[0]
        calls = group_calls[currency][group]
        calls[0] += row["calls"] or 0
        calls[1] += row["call_cost"]

    so_far_before = (
        _so_far_before(breakdown, months[-2], compared_until, outside_ledger, describe)
        if compared_until is not None
        else {}
    )
    report = SpendReport(period, breakdown, ledgers=ledgers.provider_names())
    for currency in sorted(group_cells):
        groups = []
        for group, cells in group_cells[currency].items():
            before = so_far_before.get((currency, group), ZERO) if compared_until else None
            spend_group = _spend_group(*group, cells, before=before)
            spend_group.calls, spend_group.call_cost = group_calls[currency][group]
            groups.append(spend_group)
        groups.sort(key=lambda g: (-g.total.amount, g.name.casefold()))
        totals = month_totals[currency]
        spends = _month_spends(period.months, totals)
        if compared_until is not None:
            before = sum(
                (amount for (code, _), amount in so_far_before.items() if code == currency),
                ZERO,
            )
            spends[-1] = _so_far(spends[-1], before, compared_until)
        report.currencies.append(
            CurrencySpend(currency, spends, groups, sum_amounts(totals[1:]), breakdown)
        )
    return report


class Ledgers:
    """Which accounts' providers publish a ledger (one query). Those without one: their
    spend is the portal's estimated rentals plus their calls' cost."""

    def __init__(self):
        self.providers = {}  # name → whether it publishes a ledger
        self.accounts_without = []
        for account in ProviderAccount.objects.select_related("provider").order_by(
            "provider__name"
        ):
            has_ledger = account.provider.supports(Capability.TRANSACTIONS)
            self.providers[account.provider.name] = has_ledger
            if not has_ledger:
                self.accounts_without.append(account.pk)

    def provider_names(self) -> dict[str, list[str]]:
        return {
            "with": [name for name, ledger in self.providers.items() if ledger],
            "without": [name for name, ledger in self.providers.items() if not ledger],
        }


def _so_far_before(
    breakdown: Breakdown, month: date, until: datetime, outside_ledger: list[int], describe
) -> dict[tuple[str, tuple], Decimal]:
    """What the month before the month under way came to up to `until` (to the minute,
    which months of facts cannot say), per currency and group: its charges from the
    ledger, and for providers without a ledger its calls. One month of rows at most."""
    since = local_midnight(month)
    charges = (
        charge_rows()
        .filter(occurred_at__gte=since, occurred_at__lt=until)
        .values("currency", group_key=_GROUP_KEYS[breakdown])
        .annotate(amount=money_sum("amount"))
        .order_by()
    )
    calls = (
        Call.objects.filter(
            account_id__in=outside_ledger, started_at__gte=since, started_at__lt=until
        )
        .values("currency", group_key=_GROUP_KEYS[breakdown])
        .annotate(amount=money_sum("cost", places=CALL_COST_PLACES))
        .order_by()
    )
    sums = defaultdict(lambda: ZERO)
    for row in [*charges, *calls]:
        sums[(row["currency"], describe(row["group_key"]))] += row["amount"]
    return sums


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
