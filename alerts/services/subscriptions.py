"""Choosing who receives a rule: a user on their profile page, or an admin on the rule's."""

from alerts.models import Rule, Subscription
from portal.models import AuditEvent
from portal.services.audit import record_audit_event


def set_subscription(*, user, rule: Rule, subscribed: bool, actor) -> None:
    """Record that `user` does (or does not) receive `rule`'s alerts. A choice equal to the
    role's default is still kept: a later change of role or defaults leaves it as chosen."""
    subscription, created = Subscription.objects.get_or_create(
        user=user, rule=rule, defaults={"subscribed": subscribed}
    )
    if not created:
        if subscription.subscribed == subscribed:
            return
        Subscription.objects.filter(pk=subscription.pk).update(subscribed=subscribed)
    record_audit_event(
        actor=actor,
        action=AuditEvent.Action.ALERT_SETTINGS,
        obj=rule,
        before=None if created else {"user": user.username, "subscribed": not subscribed},
        after={"user": user.username, "subscribed": subscribed},
    )


def reset_to_defaults(*, user, actor) -> None:
    """Forget the user's own choices: their role's defaults apply again."""
    deleted, _ = Subscription.objects.filter(user=user).delete()
    if deleted:
        record_audit_event(
            actor=actor,
            action=AuditEvent.Action.ALERT_SETTINGS,
            obj=user,
            after={"subscriptions": "reset to the role's defaults"},
        )
