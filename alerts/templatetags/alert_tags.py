from django import template
from django.utils import timezone

from alerts.forms import SNOOZE_FOR
from alerts.tables import delivery_to

register = template.Library()


@register.filter
def snoozed(alert) -> bool:
    """Whether the open alert is snoozed now (a snooze that has passed no longer counts)."""
    return (
        alert.is_open and alert.snoozed_until is not None and alert.snoozed_until > timezone.now()
    )


# `{{ delivery|delivered_to }}`: the address an e-mail went to, or the webhook's name.
register.filter("delivered_to", delivery_to)


@register.simple_tag
def snooze_durations():
    """The snooze buttons: (value of `duration`, "1 hour"), …"""
    return [(key, label) for key, (_, label) in SNOOZE_FOR.items()]
