"""Purchases left unknown: an order the provider did not answer for (a timeout or a 5xx
after sending) still unknown after the rule's minutes, once the reconciliation that every
sync runs has not settled it. One alert per order."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models.functions import Coalesce

from alerts.conditions.base import Finding, when_fact
from alerts.models import Rule
from numbers.models import NumberOrder
from portal.providers.phone import format_international


def unknown_purchases(rule: Rule, *, now: datetime, account=None) -> list[Finding]:
    if rule.minutes is None:
        return []
    orders = (
        NumberOrder.objects.filter(state=NumberOrder.State.UNKNOWN)
        .annotate(sent_at=Coalesce("submitted_at", "created_at"))
        .filter(sent_at__lte=now - timedelta(minutes=rule.minutes))
        .select_related("account__provider")
        .defer("account__api_secret")
        .order_by("sent_at", "pk")
    )
    if account is not None:
        orders = orders.filter(account=account)
    return [
        Finding(
            subject=f"order:{order.pk}",
            account=order.account,
            summary=f"{order.account}: the purchase of {format_international(order.number)} "
            f"is still unknown after {rule.minutes} minutes",
            facts={
                "account": str(order.account),
                "number": order.number,
                "order": str(order.pk),
                "sent_at": when_fact(order.sent_at),
                "minutes": str(rule.minutes),
            },
        )
        for order in orders
    ]
