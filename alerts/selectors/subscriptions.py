"""Who receives a rule's alerts: a user's own choice where they made one, else their role's
default (alerts.kinds; admins receive everything), and only users who may see what the rule
is about and have an e-mail address."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from alerts.models import Rule, Subscription


def subscribed_by_default(user, rule: Rule) -> bool:
    if user.is_superuser:
        return True
    # Groups read through .all(), so recipients()' prefetch serves every user at once.
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


def recipients(rule: Rule) -> list:
    """The users an alert of `rule` is e-mailed to."""
    chosen = dict(Subscription.objects.filter(rule=rule).values_list("user_id", "subscribed"))
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .prefetch_related("groups")
        .order_by("pk")
    )
    return [
        user
        for user in users
        if may_receive(user, rule) and chosen.get(user.pk, subscribed_by_default(user, rule))
    ]
