"""Spend this month above the budget set on the account: the spend report's figure for
the account (billing.selectors.spend, estimated rentals included where the provider has no
ledger), in the account's currency, against the budget in that same currency."""

from __future__ import annotations

from datetime import datetime

from alerts.conditions.base import Finding, account_subject, amount_fact
from alerts.models import Rule
from billing.selectors.months import MonthRange, this_month
from billing.selectors.spend import Breakdown, spend_by_month
from portal.models import ProviderAccount
from portal.money import format_money


def spend_over_budget(rule: Rule, *, now: datetime, account=None) -> list[Finding]:
    budgeted = ProviderAccount.objects.filter(is_active=True, monthly_budget__isnull=False)
    if account is not None:
        budgeted = budgeted.filter(pk=account.pk)
    budgeted = list(budgeted.select_related("provider").defer("api_secret"))
    if not budgeted:
        return []
    month = this_month(now)
    report = spend_by_month(MonthRange.ending(month, 1), Breakdown.ACCOUNT, now=now)
    # Per (account, currency): what the account spent this month in that currency.
    spent = {
        (group.key, currency.currency): group.total
        for currency in report.currencies
        for group in currency.groups
    }
    findings = []
    for candidate in budgeted:
        amount = spent.get((str(candidate.pk), candidate.currency))
        if amount is None or not amount.amount > candidate.monthly_budget:
            continue
        currency = candidate.currency
        findings.append(
            Finding(
                subject=account_subject(candidate),
                account=candidate,
                summary=f"{candidate}: spend this month "
                f"{format_money(amount.amount, currency)} is above the budget of "
                f"{format_money(candidate.monthly_budget, currency)}",
                facts={
                    "account": str(candidate),
                    "spend": amount_fact(amount.amount),
                    "estimated": amount_fact(amount.estimated),
                    "budget": amount_fact(candidate.monthly_budget),
                    "currency": currency,
                    "month": f"{month:%Y-%m}",
                },
            )
        )
    return findings
