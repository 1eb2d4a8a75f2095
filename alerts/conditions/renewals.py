"""Renewals at risk: a provider that renews numbers per period (Ravan: 28 days, released
48 hours after a renewal that could not be paid) and an account whose latest balance will
not cover the renewals due within the rule's days.

Only renewals whose fee is known are added up; one that is not is counted apart, never as
zero. So the condition fires when the known fees alone exceed the balance, and says how
many renewals it could not price."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.template.defaultfilters import pluralize

from alerts.conditions.balances import known_balances
from alerts.conditions.base import Finding, account_subject, amount_fact, when_fact
from alerts.models import Rule
from numbers.selectors.renewals import renewals_due
from portal.money import format_money


def renewal_at_risk(rule: Rule, *, now: datetime, account=None) -> list[Finding]:
    if rule.days is None:
        return []
    findings = []
    for item in known_balances(now=now, account=account):
        if not item.account.provider.rental_period_days:
            continue
        outlook = renewals_due(item.account, now=now, within=timedelta(days=rule.days))
        due = outlook.known_total
        # Nothing due in the window (a balance already below zero included): nothing at risk.
        if not due or not due > item.balance:
            continue
        # The first renewal the balance cannot pay: from then on numbers start to go.
        running, short = item.balance, None
        for renewal in outlook.renewals:
            if renewal.fee is None:
                continue
            running -= renewal.fee
            if running < 0:
                short = renewal
                break
        released = short.due_at + outlook.grace if outlook.grace else None
        currency = item.currency
        summary = (
            f"{item.account}: renewals of {format_money(due, currency)} due within "
            f"{rule.days} days, more than the balance of {format_money(item.balance, currency)}"
        )
        if outlook.unknown_fees:
            more = outlook.unknown_fees
            summary += f" ({more} more renewal{pluralize(more)} of unknown fee)"
        findings.append(
            Finding(
                subject=account_subject(item.account),
                account=item.account,
                summary=summary,
                facts={
                    "account": str(item.account),
                    "balance": amount_fact(item.balance),
                    "currency": currency,
                    "due": amount_fact(due),
                    "renewals": str(len(outlook.renewals)),
                    "unknown_fees": str(outlook.unknown_fees),
                    "numbers_without_purchase_date": str(outlook.undated),
                    "days": str(rule.days),
                    "period_days": str(outlook.period_days),
                    "first_unpaid_renewal": when_fact(short.due_at),
                    "first_unpaid_number": short.number.number,
                    "released_after": when_fact(released),
                },
            )
        )
    return findings
