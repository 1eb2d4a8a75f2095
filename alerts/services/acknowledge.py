"""Acknowledging an alert ("someone is on it": no reminder until it clears and fires again)
and snoozing it (no reminder until a chosen time). Either is open to anyone who may see the
alert (alerts.selectors.subscriptions.may_receive on its rule), and only while it is open.

Each is one conditional update, so two people clicking at once leave one acknowledgement
(the first) and an alert that cleared meanwhile is left as it is."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from alerts.models import Alert
from alerts.selectors.subscriptions import may_receive

CLEARED = "This alert has cleared: there is nothing left to {action}."


def _check(alert: Alert, actor, action: str) -> None:
    if not may_receive(actor, alert.rule):
        raise PermissionDenied(f"You may not {action} alerts of “{alert.rule}”.")
    if not alert.is_open:
        raise ValidationError(CLEARED.format(action=action))


def acknowledge_alert(*, alert: Alert, actor) -> bool:
    """Mark the open alert acknowledged by `actor`, now. Returns whether this did it:
    False when someone had already acknowledged it (their name stays)."""
    _check(alert, actor, "acknowledge")
    done = Alert.objects.filter(
        pk=alert.pk, cleared_at__isnull=True, acknowledged_at__isnull=True
    ).update(acknowledged_at=timezone.now(), acknowledged_by=actor)
    alert.refresh_from_db()
    if not done and not alert.is_open:
        raise ValidationError(CLEARED.format(action="acknowledge"))
    return bool(done)


def snooze_alert(*, alert: Alert, until: datetime, actor) -> None:
    """No reminder of the open alert before `until` (a time to come)."""
    _check(alert, actor, "snooze")
    if until <= timezone.now():
        raise ValidationError("Choose a time to come to snooze until.")
    if not Alert.objects.filter(pk=alert.pk, cleared_at__isnull=True).update(snoozed_until=until):
        alert.refresh_from_db()
        raise ValidationError(CLEARED.format(action="snooze"))
    alert.refresh_from_db()
