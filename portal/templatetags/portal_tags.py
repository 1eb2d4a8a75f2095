from decimal import Decimal

from django import template

from portal.selectors import last_complete_sync

register = template.Library()


@register.filter
def money(amount, currency=""):
    """`Decimal("1234.5")|money:"USD"` → "1,234.50 USD". Two decimals unless the amount
    has more significant ones (per-minute prices like 0.0085 keep all four)."""
    if amount is None or amount == "":
        return "—"
    amount = Decimal(amount)
    places = 2 if amount == amount.quantize(Decimal("0.01")) else 4
    text = f"{amount:,.{places}f}"
    return f"{text} {currency}".strip()


@register.inclusion_tag("portal/freshness.html")
def data_freshness():
    """'Synced 4 minutes ago' under a list's heading: how old its data may be."""
    return {"synced_at": last_complete_sync()}
