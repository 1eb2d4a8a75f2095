from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from portal.money import format_money
from portal.selectors import sync_freshness

register = template.Library()


@register.filter
def money(amount, currency=""):
    """`{{ amount|money:currency }}` → "1,234.50 USD" (portal.money.format_money)."""
    return format_money(amount, currency)


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
