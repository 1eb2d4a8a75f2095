"""Who may see an alert, and what the history, an alert's page and the dashboard show of
them. A user sees an alert when they may see the alert history and what the alert is about
(its rule's permission, alerts.kinds), so a support user never learns a balance through an
alert."""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from alerts.kinds import KINDS
from alerts.models import Alert, Delivery, DeliveryAttempt, Rule
from alerts.selectors.subscriptions import may_receive

VIEW_ALERTS = "alerts.view_alert"
CHANGE_ALERTS = "alerts.change_alert"


def may_see_alert(user, alert: Alert) -> bool:
    return user.has_perm(VIEW_ALERTS) and may_receive(user, alert.rule)


def may_act_on_alert(user, alert: Alert) -> bool:
    """Whether the user may acknowledge or snooze the alert."""
    return may_see_alert(user, alert) and user.has_perm(CHANGE_ALERTS)


def visible_kinds(user) -> list[str]:
    """The kinds of rule whose alerts the user may see (in the history: they hold
    VIEW_ALERTS too)."""
    return [kind for kind, info in KINDS.items() if user.has_perm(info.permission)]


def visible_rules(user) -> QuerySet[Rule]:
    return Rule.objects.filter(kind__in=visible_kinds(user))


def visible_alerts(user) -> QuerySet[Alert]:
    """The alerts of the rules the user may see, newest first."""
    return Alert.objects.filter(rule__kind__in=visible_kinds(user))


def alerts_for_history(user) -> QuerySet[Alert]:
    """What the history's rows show besides the alert: its rule, account and who
    acknowledged it (deliveries are read for the page's rows only: latest_deliveries)."""
    return visible_alerts(user).select_related("rule", "account__provider", "acknowledged_by")


def open_alerts(user) -> QuerySet[Alert]:
    """The alerts open now that the user may see, newest first."""
    return alerts_for_history(user).filter(cleared_at__isnull=True).order_by("-opened_at", "-pk")


def latest_deliveries(alert_ids) -> dict[int, list[Delivery]]:
    """Each alert's deliveries of its latest round (the first notice, or the last
    reminder), by alert id: one query for a page of alerts, however long their history."""
    latest_round = (
        Delivery.objects.filter(alert=OuterRef("alert")).order_by("-round").values("round")[:1]
    )
    deliveries = (
        Delivery.objects.filter(alert_id__in=alert_ids, round=Subquery(latest_round))
        .select_related("webhook")
        .order_by("alert_id", "channel", "address", "pk")
    )
    by_alert: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        by_alert.setdefault(delivery.alert_id, []).append(delivery)
    return by_alert


def deliveries_of(alert: Alert) -> QuerySet[Delivery]:
    """Every delivery of the alert, the latest round first, each with its attempts."""
    attempts = DeliveryAttempt.objects.order_by("at", "pk")
    return (
        alert.deliveries.select_related("webhook", "recipient")
        .prefetch_related(Prefetch("attempt_log", queryset=attempts))
        .order_by("-round", "channel", "address", "pk")
    )
