"""The rules as the rules page shows them: their parameters and reminder period in words,
and who receives each (alerts.selectors.subscriptions.receivers, for many rules at once)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q, QuerySet

from alerts.kinds import Kind
from alerts.models import Rule
from alerts.selectors.subscriptions import Receiver, receivers

# The conditions, in words, with the rule's parameters filled in.
CONDITIONS = {
    Kind.LOW_BALANCE: "Balance below the threshold set on the account",
    Kind.RUNWAY: "Balance runs out within {days} days at its recent pace",
    Kind.RENEWAL_AT_RISK: "Balance does not cover the renewals due within {days} days",
    Kind.SPEND_OVER_BUDGET: "Spend this month above the budget set on the account",
    Kind.SYNC_FAILING: "No successful sync for {hours} hours, or {failed_runs} failed runs "
    "in a row",
    Kind.UNKNOWN_PURCHASES: "A purchase left unknown for more than {minutes} minutes",
    Kind.IDLE_DIGEST: "Weekly: the numbers with no calls in {days} days",
}

NAMED_PERIODS = {
    timedelta(hours=1): "hourly",
    timedelta(days=1): "daily",
    timedelta(weeks=1): "weekly",
}


def parameters_in_words(rule: Rule) -> str:
    values = {name: "—" if value is None else f"{value:,}" for name, value in _parameters(rule)}
    return CONDITIONS[rule.kind].format(**values)


def _parameters(rule):
    return [(name, getattr(rule, name)) for name in ("days", "hours", "failed_runs", "minutes")]


def reminder_in_words(period: timedelta | None) -> str:
    """never, hourly, every 6 hours, daily, every 2 days, weekly…"""
    if period is None:
        return "never"
    if period in NAMED_PERIODS:
        return NAMED_PERIODS[period]
    seconds = int(period.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"every {count} {unit}{'s' if count != 1 else ''}"
    return f"every {seconds} seconds"


def rules_for_page() -> QuerySet[Rule]:
    """Every rule, with how many active webhooks receive it."""
    return Rule.objects.annotate(
        webhook_count=Count("webhooks", filter=Q(webhooks__is_active=True))
    ).order_by("kind", "name")


__all__ = ["Receiver", "parameters_in_words", "receivers", "reminder_in_words", "rules_for_page"]
