"""Who may see an alert: a user allowed to see the alert history who may also see what the
alert is about (its rule's permission, alerts.kinds), so a support user never learns a
balance through an alert."""

from alerts.models import Alert

VIEW_ALERTS = "alerts.view_alert"
CHANGE_ALERTS = "alerts.change_alert"


def may_see_alert(user, alert: Alert) -> bool:
    return (
        user.is_active and user.has_perm(VIEW_ALERTS) and user.has_perm(alert.rule.info.permission)
    )


def may_act_on_alert(user, alert: Alert) -> bool:
    """Whether the user may acknowledge or snooze the alert."""
    return may_see_alert(user, alert) and user.has_perm(CHANGE_ALERTS)
