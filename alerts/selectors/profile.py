"""What the profile page shows of a user's subscriptions: each rule they may receive,
whether they do, and whether that is their own choice or their role's default."""

from __future__ import annotations

from dataclasses import dataclass

from alerts.models import Rule, Subscription
from alerts.selectors.subscriptions import subscribed_by_default, subscriptions_of


@dataclass(frozen=True)
class SubscriptionRow:
    rule: Rule
    subscribed: bool
    own_choice: bool  # False: their role's default applies
    role_default: bool


def profile_subscriptions(user) -> list[SubscriptionRow]:
    chosen = set(Subscription.objects.filter(user=user).values_list("rule_id", flat=True))
    return [
        SubscriptionRow(rule, subscribed, rule.pk in chosen, subscribed_by_default(user, rule))
        for rule, subscribed in subscriptions_of(user).items()
    ]
