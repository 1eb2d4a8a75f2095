"""What people do with an open alert: acknowledge it (no more reminders until it clears and
fires again) or snooze it until a time they choose (no reminders until then).

Both are conditional updates of the open alert, so the first of two people acknowledging
at once is the one recorded, and an alert that cleared meanwhile is left as it is."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from alerts.models import Alert
from alerts.selectors.alerts import may_act_on_alert

# Further than this is forgetting an alert, not snoozing it: acknowledge it instead.
LONGEST_SNOOZE = timedelta(days=30)


def acknowledge_alert(*, alert: Alert, actor, now: datetime | None = None) -> Alert:
    """Record that `actor` has seen the open alert: it sends no reminder until it clears
    (and, should its condition come back, fires anew). Acknowledging it again changes
    nothing: the first acknowledgement stays."""
    _check_allowed(alert, actor)
    now = now or timezone.now()
    Alert.objects.filter(pk=alert.pk, cleared_at__isnull=True, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=actor
    )
    alert.refresh_from_db()
    if alert.cleared_at is not None and alert.acknowledged_at is None:
        raise ValidationError("This alert has cleared already: there is nothing to acknowledge.")
    return alert


def snooze_alert(
    *, alert: Alert, until: datetime | None, actor, now: datetime | None = None
) -> Alert:
    """Send no reminder of the open alert before `until` (None: end the snooze now). A
    reminder that falls due while it sleeps goes out when the snooze ends."""
    _check_allowed(alert, actor)
    now = now or timezone.now()
    if until is not None:
        if timezone.is_naive(until):
            raise ValidationError("A snooze needs a time with its time zone.")
        if until <= now:
            raise ValidationError("Choose a time in the future to snooze the alert until.")
        if until > now + LONGEST_SNOOZE:
            raise ValidationError(
                "An alert can be snoozed for %(days)d days at most; acknowledge it to stop "
                "its reminders until it clears.",
                params={"days": LONGEST_SNOOZE.days},
            )
    if not Alert.objects.filter(pk=alert.pk, cleared_at__isnull=True).update(snoozed_until=until):
        raise ValidationError("This alert has cleared already: there is nothing to snooze.")
    alert.refresh_from_db()
    return alert


def _check_allowed(alert: Alert, actor) -> None:
    if actor is None or not may_act_on_alert(actor, alert):
        raise PermissionDenied("You may not acknowledge or snooze this alert.")
