"""Who receives a rule's alerts: a user's own choice where they made one, else their role's
default (alerts.kinds; admins receive everything), and only users who may see what the rule
is about and have an e-mail address."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from alerts.models import Rule, Subscription


def subscribed_by_default(user, rule: Rule) -> bool:
    if user.is_superuser:
        return True
    # Groups read through .all(), so receivers()' prefetch serves every user at once.
    return any(group.name in rule.info.default_roles for group in user.groups.all())


def may_receive(user, rule: Rule) -> bool:
    """Whether the user may see what the rule's alerts are about."""
    return user.is_active and user.has_perm(rule.info.permission)


def subscriptions_of(user) -> dict[Rule, bool]:
    """Every active rule the user may receive, with whether they receive it now."""
    chosen = dict(Subscription.objects.filter(user=user).values_list("rule_id", "subscribed"))
    return {
        rule: chosen.get(rule.pk, subscribed_by_default(user, rule))
        for rule in Rule.objects.filter(is_active=True)
        if may_receive(user, rule)
    }


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


def recipients(rule: Rule) -> list:
    """The users an alert of `rule` is e-mailed to, in the order they joined."""
    return sorted(
        (receiver.user for receiver in receivers([rule])[0] if receiver.by_email),
        key=lambda user: user.pk,
    )
