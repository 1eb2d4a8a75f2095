"""Conditions on an account's latest balance, read through billing's balances selector
(the same figures the balances page shows): under its threshold, and runway running out."""

from __future__ import annotations

from datetime import datetime

from alerts.conditions.base import Finding, account_subject, amount_fact, when_fact
from alerts.models import Rule
from billing.selectors.balances import AccountBalance, balances_with_runway
from portal.models import ProviderAccount
from portal.money import format_money


def known_balances(
    *, now: datetime, account: ProviderAccount | None = None
) -> list[AccountBalance]:
    """Active accounts with a balance read, in the account's own currency (a balance in
    another currency cannot be held against the account's threshold or fees)."""
    return [
        item
        for item in balances_with_runway(now)
        if item.balance is not None
        and item.currency == item.account.currency
        and (account is None or item.account.pk == account.pk)
    ]


def low_balance(rule: Rule, *, now: datetime, account=None) -> list[Finding]:
    findings = []
    for item in known_balances(now=now, account=account):
        if item.threshold is None or not item.balance < item.threshold:
            continue
        findings.append(
            Finding(
                subject=account_subject(item.account),
                account=item.account,
                summary=f"{item.account}: balance {format_money(item.balance, item.currency)} "
                f"is below the threshold of {format_money(item.threshold, item.currency)}",
                facts={
                    "account": str(item.account),
                    "balance": amount_fact(item.balance),
                    "threshold": amount_fact(item.threshold),
                    "currency": item.currency,
                    "balance_taken_at": when_fact(item.taken_at),
                },
            )
        )
    return findings


def runway(rule: Rule, *, now: datetime, account=None) -> list[Finding]:
    if rule.days is None:
        return []
    findings = []
    for item in known_balances(now=now, account=account):
        # No runway where the balance did not fall: it is not running out.
        if item.days_left is None or item.days_left >= rule.days:
            continue
        days = "day" if item.days_left == 1 else "days"
        findings.append(
            Finding(
                subject=account_subject(item.account),
                account=item.account,
                summary=f"{item.account}: the balance of "
                f"{format_money(item.balance, item.currency)} lasts about {item.days_left} "
                f"{days} at the pace of the last 30 days",
                facts={
                    "account": str(item.account),
                    "balance": amount_fact(item.balance),
                    "currency": item.currency,
                    "days_left": str(item.days_left),
                    "runs_out_on": when_fact(item.runs_out_on),
                    "burn_per_day": amount_fact(item.burn_per_day_shown),
                    "days": str(rule.days),
                },
            )
        )
    return findings
