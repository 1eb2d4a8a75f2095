"""Reads of usage: what a number's calls came to (from the rollups NumberDay and NumberMonth,
never from Call) and which numbers nobody calls.

A number's usage is known only once its account's call records have been synced
(`ProviderAccount.calls_synced_until`): before that it is unknown, never zero, and such a
number is never called idle.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum

from django.db.models import (
    CharField,
    Count,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from numbers.models import CALL_COST_PLACES, NumberDay, NumberMonth, PhoneNumber
from portal.models import ProviderAccount
from portal.money import money_sum
from portal.providers.capabilities import Capability

# The periods a number's page sums its calls over, in days.
USAGE_WINDOWS = (30, 90, 365)
# The days the numbers list counts calls over ("Calls (30 d)").
LIST_CALLS_DAYS = 30
# Months of calls a number's page charts.
CHART_MONTHS = 12
DEFAULT_IDLE_DAYS = 60
ZERO = Decimal(0)


class UsageState(Enum):
    """Whether a number's usage is known, and why not."""

    KNOWN = "known"
    NOT_SYNCED = "not_synced"  # the provider publishes call records; none read yet
    NOT_PUBLISHED = "not_published"  # the provider publishes none


def usage_state(account: ProviderAccount, provider=None) -> UsageState:
    """`provider` is the account's, where the caller has it joined already (a list row)."""
    # Calls stored are known whatever the adapter declares today.
    if account.calls_synced_until is not None:
        return UsageState.KNOWN
    if (provider or account.provider).supports(Capability.CALL_RECORDS):
        return UsageState.NOT_SYNCED
    return UsageState.NOT_PUBLISHED


def today() -> date:
    """The rollups' days are the configured time zone's (numbers.services.facts)."""
    return timezone.localdate()


@dataclass
class Usage:
    """Calls over a period: counts, billed minutes, the priced calls' cost per currency
    and how many calls are not priced yet (left out of the cost)."""

    calls: int = 0
    billed_seconds: int = 0
    unpriced_calls: int = 0
    costs: dict[str, Decimal] = field(default_factory=dict)

    @property
    def billed_minutes(self) -> Decimal:
        return (Decimal(self.billed_seconds) / 60).quantize(Decimal("0.1"))

    @property
    def cost_list(self) -> list[tuple[str, Decimal]]:
        return sorted(self.costs.items())

    def add(self, *, calls, billed_seconds, unpriced_calls, currency, cost):
        self.calls += calls or 0
        self.billed_seconds += billed_seconds or 0
        self.unpriced_calls += unpriced_calls or 0
        if calls:
            self.costs[currency] = self.costs.get(currency, ZERO) + (cost or ZERO)


@dataclass
class UsageWindow:
    days: int
    usage: Usage


@dataclass
class UsageMonth:
    month: date
    usage: Usage


def usage_windows(phone_number: PhoneNumber, *, on: date | None = None) -> list[UsageWindow]:
    """The number's calls in the last 30, 90 and 365 days (today included), from one
    query over its NumberDay rows."""
    on = on or today()
    starts = {days: on - timedelta(days=days - 1) for days in USAGE_WINDOWS}
    sums = {}
    for days, start in starts.items():
        within = Q(day__gte=start)
        sums |= {
            f"calls_{days}": Sum("calls", filter=within),
            f"seconds_{days}": Sum("billed_seconds", filter=within),
            f"unpriced_{days}": Sum("unpriced_calls", filter=within),
            f"cost_{days}": money_sum("cost", places=CALL_COST_PLACES, filter=within),
        }
    rows = (
        NumberDay.objects.filter(
            phone_number=phone_number, day__gte=min(starts.values()), day__lte=on
        )
        .values("currency")
        .annotate(**sums)
        .order_by("currency")
    )
    windows = {days: Usage() for days in USAGE_WINDOWS}
    for row in rows:
        for days, usage in windows.items():
            usage.add(
                calls=row[f"calls_{days}"],
                billed_seconds=row[f"seconds_{days}"],
                unpriced_calls=row[f"unpriced_{days}"],
                currency=row["currency"],
                cost=row[f"cost_{days}"],
            )
    return [UsageWindow(days, usage) for days, usage in windows.items()]


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def months_back(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def usage_by_month(
    phone_number: PhoneNumber, *, months: int = CHART_MONTHS, on: date | None = None
) -> list[UsageMonth]:
    """The number's calls in each of the last `months` calendar months (this one so far),
    oldest first, every month present (a month without calls has none), from NumberMonth."""
    last = first_of_month(on or today())
    first = months_back(last, months - 1)
    series = {months_back(last, back): Usage() for back in range(months - 1, -1, -1)}
    rows = NumberMonth.objects.filter(
        phone_number=phone_number, month__gte=first, month__lte=last
    ).values_list("month", "currency", "calls", "billed_seconds", "unpriced_calls", "cost")
    for month, currency, calls, seconds, unpriced, cost in rows:
        series[month].add(
            calls=calls,
            billed_seconds=seconds,
            unpriced_calls=unpriced,
            currency=currency,
            cost=cost,
        )
    return [UsageMonth(month, usage) for month, usage in series.items()]


def calls_chart(months: list[UsageMonth]) -> dict:
    """The monthly calls as static/portal/charts.js draws a `calls` chart."""
    return {
        "labels": [f"{month.month:%b %Y}" for month in months],
        "unit": "calls",
        "datasets": [{"label": "Calls", "data": [month.usage.calls for month in months]}],
    }


def with_calls_in_last_days(numbers, days: int = LIST_CALLS_DAYS, *, on: date | None = None):
    """Give each number `calls_30d`, its calls in the last `days` days, from one query for
    all of them through NumberDay's (phone_number, day) index: only the rows shown are
    counted (a subquery in the list's own query would be worked out for every row an
    OFFSET skips too)."""
    start = (on or today()) - timedelta(days=days - 1)
    counts = dict(
        NumberDay.objects.filter(
            phone_number_id__in=[number.pk for number in numbers], day__gte=start
        )
        .order_by()
        .values("phone_number_id")
        .annotate(total=Sum("calls"))
        .values_list("phone_number_id", "total")
    )
    for number in numbers:
        number.calls_30d = counts.get(number.pk, 0)
    return numbers


def idle_condition(days: int, *, now: datetime | None = None) -> Q:
    """Numbers with no call in the last `days` days: held (not released) for at least that
    long (or since before the portal knew), at an account whose call records have been
    synced (else their usage is unknown), and last called before then or never."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return (
        ~Q(status=PhoneNumber.Status.RELEASED)
        & Q(account__calls_synced_until__isnull=False)
        & (Q(purchased_at__isnull=True) | Q(purchased_at__lte=cutoff))
        & (Q(last_call_at__isnull=True) | Q(last_call_at__lt=cutoff))
    )


def idle_numbers(days: int = DEFAULT_IDLE_DAYS, *, now: datetime | None = None) -> QuerySet:
    return PhoneNumber.objects.filter(idle_condition(days, now=now))


@dataclass
class IdleGroup:
    """Idle numbers of one account, label and currency, and what they cost a month."""

    account: ProviderAccount
    label: str
    currency: str
    numbers: int
    monthly_fees: Decimal  # the known fees only
    unknown_fees: int  # numbers left out of `monthly_fees`
    converted: int  # numbers whose fee is the monthly equivalent of another period's
    period_days: int | None  # that period (the longest, should there be several)


@dataclass
class IdleTotal:
    currency: str
    numbers: int = 0
    monthly_fees: Decimal = ZERO
    unknown_fees: int = 0
    converted: int = 0
    period_days: int | None = None


@dataclass
class IdleSummary:
    groups: list[IdleGroup]
    totals: list[IdleTotal]  # per currency, never added across

    @property
    def numbers(self) -> int:
        return sum(total.numbers for total in self.totals)

    @property
    def unknown_fees(self) -> int:
        return sum(total.unknown_fees for total in self.totals)


# The label a number shows: its own, else the one it has at the provider.
SHOWN_LABEL = Coalesce(
    NullIf(F("label"), Value("")),
    NullIf(F("upstream_label"), Value("")),
    Value(""),
    output_field=CharField(),
)


def idle_summary(numbers: QuerySet) -> IdleSummary:
    """`numbers` grouped by account, the label they show (the portal's, else the one at the
    provider, as the list shows it) and currency, with their monthly fees per currency:
    one grouped pass, then the groups' accounts by id (grouping by the joined names would
    cost as much again as the pass itself)."""
    converted = Q(monthly_fee__isnull=False, rental_period_days__isnull=False)
    converted &= Q(period_fee__isnull=False)
    grouped = (
        numbers.order_by()
        .values("account_id", "currency", shown_label=SHOWN_LABEL)
        .annotate(
            n=Count("id"),
            fees=money_sum("monthly_fee"),
            unknown=Count("id", filter=Q(monthly_fee__isnull=True)),
            converted=Count("id", filter=converted),
            period_days=Max("rental_period_days", filter=converted),
        )
    )
    rows = list(grouped)
    accounts = ProviderAccount.objects.select_related("provider").defer("api_secret")
    accounts = accounts.in_bulk({row["account_id"] for row in rows})
    groups, totals = [], {}
    for row in rows:
        group = IdleGroup(
            account=accounts[row["account_id"]],
            label=row["shown_label"],
            currency=row["currency"],
            numbers=row["n"],
            monthly_fees=row["fees"],
            unknown_fees=row["unknown"],
            converted=row["converted"],
            period_days=row["period_days"],
        )
        groups.append(group)
        total = totals.setdefault(group.currency, IdleTotal(group.currency))
        total.numbers += group.numbers
        total.monthly_fees += group.monthly_fees
        total.unknown_fees += group.unknown_fees
        total.converted += group.converted
        if group.period_days:
            total.period_days = max(total.period_days or 0, group.period_days)
    groups.sort(
        key=lambda g: (g.account.provider.name, g.account.name, g.label == "", g.label, g.currency)
    )
    return IdleSummary(groups, [totals[currency] for currency in sorted(totals)])


@dataclass
class UnjudgedAccount:
    account: ProviderAccount
    state: UsageState


def accounts_not_judged() -> list[UnjudgedAccount]:
    """The active accounts whose numbers the idle list cannot judge: call records not
    synced yet, or never published by their provider."""
    accounts = (
        ProviderAccount.objects.filter(is_active=True, calls_synced_until__isnull=True)
        .select_related("provider")
        .defer("api_secret")
        .order_by("provider__name", "name")
    )
    return [UnjudgedAccount(account, usage_state(account)) for account in accounts]


@dataclass
class NumberUsage:
    """What a number's page shows of its usage: nothing but why while it is unknown."""

    state: UsageState
    last_call_at: datetime | None
    windows: list[UsageWindow] = field(default_factory=list)
    months: list[UsageMonth] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.state is UsageState.KNOWN

    @property
    def not_published(self) -> bool:
        return self.state is UsageState.NOT_PUBLISHED

    @property
    def has_monthly_calls(self) -> bool:
        return any(month.usage.calls for month in self.months)

    @property
    def chart(self) -> dict:
        return calls_chart(self.months)


def number_usage(phone_number: PhoneNumber) -> NumberUsage:
    """The number's usage for its page: two queries where known, none where not."""
    state = usage_state(phone_number.account, phone_number.provider)
    usage = NumberUsage(state, phone_number.last_call_at)
    if usage.known:
        usage.windows = usage_windows(phone_number)
        usage.months = usage_by_month(phone_number)
    return usage
