from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from portal.badges import status_badge
from portal.money import format_money
from portal.selectors.sync import sync_freshness

register = template.Library()


@register.filter
def money(amount, currency=""):
    """`{{ amount|money:currency }}` → "1,234.50 USD" (portal.money.format_money)."""
    return format_money(amount, currency)


# `{% status_badge phone_number.Status phone_number.status %}`: a choice as a badge in the
# colour its choices give it (portal.badges); `label="…"` names it otherwise, `testid="…"`
# gives it a data-testid.
register.simple_tag(status_badge, name="status_badge")


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
