"""Balances with their trend and runway."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from billing.models import BalanceSnapshot, Transaction
from billing.selectors.months import CENTS, ZERO, local_midnight, report_zone
from billing.selectors.transactions import latest_balance_per_account
from portal.models import ProviderAccount
from portal.money import money_sum
from portal.providers.capabilities import Capability

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
            has_balance_api=account.provider.supports(Capability.BALANCE),
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
