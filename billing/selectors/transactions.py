from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)

from billing.models import BalanceSnapshot, Transaction
from billing.report_cache import cached_rows
from portal.models import ProviderAccount
from portal.money import money_sum


def latest_balance_per_account():
    """Active accounts with their newest balance snapshot (one query, a subquery per field)."""
    latest = BalanceSnapshot.objects.filter(account=OuterRef("pk")).order_by("-taken_at")
    accounts = (
        ProviderAccount.objects.filter(is_active=True)
        .select_related("provider")
        .annotate(
            balance=Subquery(latest.values("balance")[:1]),
            balance_currency=Subquery(latest.values("currency")[:1]),
            balance_taken_at=Subquery(latest.values("taken_at")[:1]),
        )
        .order_by("provider__name", "name")
    )
    for account in accounts:
        account.is_low = (
            account.balance is not None
            and account.low_balance_threshold is not None
            and account.balance < account.low_balance_threshold
        )
        yield account


DEBITS = Q(kind__in=Transaction.DEBIT_KINDS)
ZERO = Decimal(0)


def transactions_for_list() -> QuerySet[Transaction]:
    """Transactions with what a list row or an export shows: provider and account joined
    (without the account's secret, which would be decrypted for every row), and
    `balance_effect`, the amount with its direction (a debit is negative), to sort on."""
    return (
        Transaction.objects.select_related("account__provider")
        .defer("account__api_secret")
        .annotate(balance_effect=Case(When(DEBITS, then=-F("amount")), default=F("amount")))
    )


@dataclass(frozen=True)
class CurrencyTotals:
    """What a set of transactions adds up to in one currency, estimated or actual apart.
    Debits and credits are magnitudes; `net` is credits minus debits."""

    currency: str
    is_estimate: bool
    transactions: int
    debits: Decimal
    credits: Decimal
    net: Decimal


def transaction_totals(transactions: QuerySet[Transaction]) -> list[CurrencyTotals]:
    """Debits, credits and net of `transactions` per currency, with estimated charges in
    rows of their own, so actual and estimated money are never added together. The
    database adds everything up in one query, however many rows match, grouped by type as
    well: a sum per group is cheaper for it than a filtered sum each for debits and credits,
    and the types fold into debits and credits here. Cached while the data is unchanged
    (billing.report_cache): a year's totals add up half a million rows."""
    groups = cached_rows(
        transactions.order_by()
        .values("currency", "is_estimate", "kind")
        .annotate(count=Count("pk"), amount=money_sum("amount"))
    )
    sums: dict[tuple[str, bool], tuple[int, Decimal, Decimal]] = {}
    for group in groups:
        key = (group["currency"], group["is_estimate"])
        count, debits, credits = sums.get(key, (0, ZERO, ZERO))
        if group["kind"] in Transaction.DEBIT_KINDS:
            debits += group["amount"]
        else:
            credits += group["amount"]
        sums[key] = (count + group["count"], debits, credits)
    return [
        CurrencyTotals(currency, is_estimate, count, debits, credits, net=credits - debits)
        for (currency, is_estimate), (count, debits, credits) in sorted(sums.items())
    ]
