from datetime import timedelta
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from portal.money import shown_amount
from portal.selectors.sync import sync_freshness

register = template.Library()


@register.filter
def money(amount, currency=""):
    """`Decimal("1234.5")|money:"USD"` → "1,234.50 USD". Two decimals unless the amount
    has digits past the cents, which all show (0.0085; 8369.0060 as 8,369.006): the one
    way every page, the admin and the exports write an amount (portal.money.shown_amount)."""
    if amount is None or amount == "":
        return "—"
    text = f"{shown_amount(Decimal(amount)):,f}"
    return f"{text} {currency}".strip()


@register.filter
def ago(moment):
    """ "4 minutes ago"; "just now" within the minute (never "0 minutes ago")."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"


@register.inclusion_tag("portal/freshness.html")
def data_freshness():
    """'Synced 4 minutes ago' under a list's heading: how old its data may be, and which
    accounts' last sync failed or that never synced."""
    return {"freshness": sync_freshness()}
