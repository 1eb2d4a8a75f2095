"""The rules as the rules page shows them: their parameters and reminder period in words,
and who receives each (alerts.selectors.subscriptions' answer, for many rules at once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from alerts.kinds import Kind
from alerts.models import Rule, Subscription
from alerts.selectors.subscriptions import may_receive, subscribed_by_default

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


@dataclass
class Receiver:
    user: object
    receives: bool  # their own choice, else their role's default

    @property
    def by_email(self) -> bool:
        """Whether an alert reaches them: they receive it and have an address to send to."""
        return self.receives and bool(self.user.email)


def receivers(rules) -> list[list[Receiver]]:
    """For each of `rules` in turn (a rule not saved yet too), every active user who may
    receive it (may_receive), with whether they receive it now: the users, their groups and
    the rules' subscriptions read once for all the rules."""
    rules = list(rules)
    users = list(
        get_user_model()
        .objects.filter(is_active=True)
        .prefetch_related("groups")
        .order_by("username")
    )
    chosen = {
        (rule_id, user_id): subscribed
        for rule_id, user_id, subscribed in Subscription.objects.filter(
            rule__in=[rule for rule in rules if rule.pk]
        ).values_list("rule_id", "user_id", "subscribed")
    }
    return [
        [
            Receiver(user, chosen.get((rule.pk, user.pk), subscribed_by_default(user, rule)))
            for user in users
            if may_receive(user, rule)
        ]
        for rule in rules
    ]


def rules_for_page() -> QuerySet[Rule]:
    """Every rule, with how many active webhooks receive it."""
    return Rule.objects.annotate(
        webhook_count=Count("webhooks", filter=Q(webhooks__is_active=True))
    ).order_by("kind", "name")
