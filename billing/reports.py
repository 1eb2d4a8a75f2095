"""Figures for finance: spend per month by provider, account or number label with the change
from month to month; the recurring cost of owned numbers next to the recurring charges
billed; balances with their trend and runway.

Every sum is made by the database and grouped by currency: amounts in different currencies
are never added. Months are calendar months in the configured time zone (TIME_ZONE), so a
charge at 23:30 on 31 January in that zone is January's even where UTC says February.
Charges the portal estimated from number fees (providers without a billing API) are counted
like the others and reported separately, so every page can say which figures are estimates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.db import models
from django.db.models import Count, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from billing.models import BalanceSnapshot, Transaction
from billing.report_cache import cached_rows
from billing.selectors import latest_balance_per_account
from numbers.models import PhoneNumber
from portal.models import ProviderAccount
from portal.money import money_sum
from portal.providers import adapter_class
from portal.providers.capabilities import Capability
from portal.templatetags.portal_tags import money

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


def _charges():
    return Transaction.objects.filter(kind__in=Transaction.DEBIT_KINDS)


def _sums():
    """Sum of the amounts and of their estimated part, for `annotate`."""
    return {
        "total": money_sum("amount"),
        "estimated": money_sum("amount", filter=Q(is_estimate=True)),
    }


def _amount(row) -> Amount:
    return Amount(row["total"], row["estimated"])


def change_percent(change: Decimal, previous: Decimal) -> Decimal | None:
    """The change in percent of what came before, to 0.1 %; None when nothing came before."""
    if not previous:
        return None
    return (change * 100 / previous).quantize(PERCENT_PLACES)


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
        """What the chart draws (static/billing/charts.js), amounts as decimal strings:
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
    return {"label": name, "data": amounts, "text": [money(amount) for amount in amounts]}


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
        _charges()
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
        month_totals[currency] = _add_amounts(month_totals[currency], amounts)
        before = row.get(SO_FAR_BEFORE, ZERO)
        so_far_before[currency] += before
        if row["in_period"]:  # charged only in the month before: counts for no group
            cells = group_cells[currency]
            group = describe(row["group_key"])
            cells[group] = _add_amounts(cells[group], amounts[1:])
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
            CurrencySpend(currency, spends, groups, _sum_amounts(totals[1:]), breakdown)
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
    group = SpendGroup(key, name, detail, cells, _sum_amounts(cells))
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


def _add_amounts(amounts: list[Amount], more: list[Amount]) -> list[Amount]:
    return [
        Amount(a.amount + b.amount, a.estimated + b.estimated)
        for a, b in zip(amounts, more, strict=True)
    ]


def _sum_amounts(amounts: list[Amount]) -> Amount:
    return Amount(sum((a.amount for a in amounts), ZERO), sum((a.estimated for a in amounts), ZERO))


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
    billed_rows = cached_rows(billed.values(*account).annotate(**_sums()).order_by())
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
        account_row(row).billed = _amount(row)

    # The totals add up the account rows: the same figures, without reading the rows again.
    totals: dict[str, RecurringRow] = {}
    for row in accounts.values():
        total = totals.setdefault(row.currency, RecurringRow("Total", "", row.currency))
        total.numbers += row.numbers
        total.fees += row.fees
        total.unknown_fees += row.unknown_fees
        total.billed = _sum_amounts([total.billed, row.billed])
    return RecurringComparison(
        month=month,
        accounts=[accounts[key] for key in sorted(accounts)],
        totals=[totals[currency] for currency in sorted(totals)],
    )


# --- balances, runway and trend -------------------------------------------------------------

RUNWAY_WINDOW_DAYS = 30
WARNING_DAYS = 14


@dataclass
class AccountBalance:
    """An active account's latest balance, how fast it has been falling and what that means.

    The burn rate is the net spend per day over the last RUNWAY_WINDOW_DAYS (charges less
    credits, in the account's currency): the pace at which the balance actually fell."""

    account: ProviderAccount  # with `provider`, and the annotations of the latest balance
    balance: Decimal | None
    currency: str
    taken_at: datetime | None
    threshold: Decimal | None
    has_balance_api: bool
    spent: Decimal = ZERO
    credited: Decimal = ZERO
    includes_estimates: bool = False
    burn_per_day: Decimal | None = None  # None: the balance did not fall
    days_left: int | None = None  # whole days until the balance reaches zero
    days_to_threshold: int | None = None
    runs_out_on: date | None = None
    reaches_threshold_on: date | None = None

    @property
    def is_low(self) -> bool:
        return (
            self.balance is not None
            and self.threshold is not None
            and self.balance < self.threshold
        )

    @property
    def is_low_soon(self) -> bool:
        """Not low yet, but at this burn rate within WARNING_DAYS."""
        return (
            not self.is_low
            and self.days_to_threshold is not None
            and self.days_to_threshold <= WARNING_DAYS
        )

    @property
    def needs_attention(self) -> bool:
        return self.is_low or self.is_low_soon

    @property
    def burn_per_day_shown(self) -> Decimal | None:
        return None if self.burn_per_day is None else self.burn_per_day.quantize(CENTS)

    @property
    def has_recent_spend(self) -> bool:
        return self.spent > 0


def balances_with_runway(now: datetime | None = None) -> list[AccountBalance]:
    """Every active account with its latest balance, threshold and runway: two queries."""
    now = now or timezone.now()
    accounts = list(latest_balance_per_account())
    since = now - timedelta(days=RUNWAY_WINDOW_DAYS)
    flows = {
        (row["account_id"], row["currency"]): row
        for row in Transaction.objects.filter(
            account__is_active=True, occurred_at__gt=since, occurred_at__lte=now
        )
        .values("account_id", "currency")
        .annotate(
            spent=money_sum("amount", filter=Q(kind__in=Transaction.DEBIT_KINDS)),
            credited=money_sum("amount", filter=Q(kind=Transaction.Kind.CREDIT)),
            estimates=Count("id", filter=Q(is_estimate=True)),
        )
        .order_by()
    }
    today = timezone.localdate(now, report_zone())
    balances = []
    for account in accounts:
        item = AccountBalance(
            account=account,
            balance=account.balance,
            currency=account.balance_currency or account.currency,
            taken_at=account.balance_taken_at,
            threshold=account.low_balance_threshold,
            has_balance_api=provider_offers(account.provider.slug, Capability.BALANCE),
        )
        flow = flows.get((account.pk, account.currency))
        if flow is not None:
            item.spent, item.credited = flow["spent"], flow["credited"]
            item.includes_estimates = flow["estimates"] > 0
        if item.balance is not None and item.currency == account.currency:
            _estimate_runway(item, today)
        balances.append(item)
    return balances


def needing_attention(balances: list[AccountBalance]) -> list[AccountBalance]:
    """The balances to warn about, most urgent first: under the threshold already, then by
    the days left until they are."""
    warned = [balance for balance in balances if balance.needs_attention]
    return sorted(warned, key=lambda b: (not b.is_low, b.days_to_threshold or 0))


def _estimate_runway(item: AccountBalance, today: date) -> None:
    burn = (item.spent - item.credited) / RUNWAY_WINDOW_DAYS
    if burn <= 0:
        return
    item.burn_per_day = burn
    item.days_left = _days(item.balance, burn)
    item.runs_out_on = today + timedelta(days=item.days_left)
    item.days_to_threshold = _days(item.balance - (item.threshold or ZERO), burn)
    item.reaches_threshold_on = today + timedelta(days=item.days_to_threshold)


def _days(amount: Decimal, burn: Decimal) -> int:
    """Whole days the amount lasts at `burn` a day (a part day does not count)."""
    return max(int((amount / burn).to_integral_value(rounding=ROUND_FLOOR)), 0)


def provider_offers(slug: str, capability: Capability) -> bool:
    """Whether the provider's API has `capability` at all, so a page can say "not offered"
    rather than "nothing yet"."""
    try:
        return adapter_class(slug).supports(capability)
    except LookupError:  # a provider row without an adapter yet
        return False


TREND_DAYS = 90


@dataclass
class BalanceSeries:
    account: ProviderAccount
    points: list[Decimal | None]  # the balance at the end of each day; None before the first

    def at_days_ago(self, days: int) -> Decimal | None:
        return self.points[-1 - days] if days < len(self.points) else None

    @property
    def now(self) -> Decimal | None:
        return self.points[-1]

    @property
    def month_ago(self) -> Decimal | None:
        return self.at_days_ago(30)

    @property
    def change_30_days(self) -> Decimal | None:
        if self.now is None or self.month_ago is None:
            return None
        return self.now - self.month_ago


@dataclass
class BalanceTrend:
    currency: str
    days: list[date]
    series: list[BalanceSeries]

    def chart(self) -> dict:
        return {
            "currency": self.currency,
            "labels": [f"{day:%d %b}" for day in self.days],
            "datasets": [
                {
                    "label": f"{series.account.provider.name} · {series.account.name}",
                    "data": series.points,
                }
                for series in self.series
            ],
        }


def balance_trend(now: datetime | None = None, days: int = TREND_DAYS) -> list[BalanceTrend]:
    """Each active account's balance at the end of each of the last `days` days (the latest
    snapshot by then), one trend per currency. Three queries: the accounts with their latest
    balance, the snapshots of the period, and the last one before it, which gives the first
    days their value."""
    now = now or timezone.now()
    today = timezone.localdate(now, report_zone())
    day_list = [today - timedelta(days=offset) for offset in reversed(range(days))]
    start = local_midnight(day_list[0])
    accounts = {account.pk: account for account in latest_balance_per_account()}
    # The last snapshot before the period, per account: the balance its first days show.
    last_before = (
        BalanceSnapshot.objects.filter(account=OuterRef("pk"), taken_at__lt=start)
        .order_by("-taken_at", "-pk")
        .values("pk")[:1]
    )
    before = {
        snapshot.account_id: snapshot
        for snapshot in BalanceSnapshot.objects.filter(
            pk__in=ProviderAccount.objects.filter(pk__in=list(accounts))
            .annotate(snapshot=Subquery(last_before))
            .values("snapshot")
        )
    }
    snapshots = BalanceSnapshot.objects.filter(
        account__in=list(accounts), taken_at__gte=start, taken_at__lte=now
    ).order_by("taken_at", "pk")
    by_day: dict[int, dict[date, BalanceSnapshot]] = defaultdict(dict)
    for snapshot in snapshots:
        by_day[snapshot.account_id][timezone.localdate(snapshot.taken_at, report_zone())] = snapshot
    trends: dict[str, list[BalanceSeries]] = defaultdict(list)
    for account in accounts.values():
        if account.balance is None:
            continue
        current = before.get(account.pk)
        points = []
        for day in day_list:
            current = by_day[account.pk].get(day, current)
            same_currency = current is not None and current.currency == account.balance_currency
            points.append(current.balance if same_currency else None)
        trends[account.balance_currency].append(BalanceSeries(account, points))
    return [BalanceTrend(currency, day_list, trends[currency]) for currency in sorted(trends)]
