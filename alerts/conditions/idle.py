"""The weekly digest of idle numbers: numbers nobody called in the rule's days (only at
accounts whose call records are synced, numbers/selectors/usage) and what they cost a
month, per currency. Its subject names the ISO week, so each week is one alert: opened by
the first evaluation of the week, cleared when the week is over."""

from __future__ import annotations

from datetime import datetime

from django.template.defaultfilters import pluralize
from django.utils import timezone

from alerts.conditions.base import Finding, amount_fact
from alerts.models import Rule
from numbers.selectors.usage import idle_numbers, idle_summary
from portal.money import format_money


def week_of(now: datetime) -> str:
    year, week, _ = timezone.localdate(now).isocalendar()
    return f"{year}-W{week:02d}"


def idle_digest(rule: Rule, *, now: datetime, account=None) -> list[Finding]:
    if rule.days is None or account is not None:
        return []  # a digest of the whole portal, made on the schedule only
    summary = idle_summary(idle_numbers(rule.days, now=now))
    if not summary.numbers:
        return []
    # A currency whose every fee is unknown has no known cost: it is left out, never 0.
    known = [total for total in summary.totals if total.unknown_fees < total.numbers]
    costs = ", ".join(format_money(total.monthly_fees, total.currency) for total in known)
    numbers = f"{summary.numbers} number{pluralize(summary.numbers)}"
    text = f"{numbers} with no calls in {rule.days} days"
    text += f" cost {costs} a month" if costs else ", at a cost not known"
    if summary.unknown_fees and costs:
        text += f" ({summary.unknown_fees} of them of unknown fee, not counted)"
    week = week_of(now)
    facts = {
        "week": week,
        "days": str(rule.days),
        "numbers": str(summary.numbers),
        "unknown_fees": str(summary.unknown_fees),
        "monthly_cost": costs,
    }
    for total in known:
        facts[f"monthly_cost_{total.currency}"] = amount_fact(total.monthly_fees)
    return [Finding(subject=f"portal:idle:{week}", summary=text, facts=facts)]
