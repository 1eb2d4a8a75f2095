"""Cells of the spend report's breakdown table. By number label it has hundreds of rows of
a cell a month: a filter that writes a row's cells at once renders them several times faster
than a template loop with a node, a filter call and an autoescape per cell."""

from html import escape

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from portal.money import format_money

register = template.Library()


@register.filter
def month_cells(cells):
    """A breakdown row's cell per month: its amount, dimmed where nothing was spent."""
    # Safe: the one value written in is escaped. With the standard library's escape, as
    # format_html_join's lazy-aware escaping costs more than the rest of the cell.
    return mark_safe(  # noqa: S308
        "".join(
            f'<td class="text-end text-nowrap{"" if cell.amount else " text-body-tertiary"}">'
            f"{escape(format_money(cell.amount))}</td>"
            for cell in cells
        )
    )


@register.simple_tag
def spend_change(change, percent=None):
    """A change of spend: a rise in red, a fall in green, with its percent when given."""
    if change is None:
        shown = mark_safe('<span class="text-body-tertiary">—</span>')
    elif change > 0:
        shown = format_html('<span class="text-danger-emphasis">+{}</span>', format_money(change))
    elif change < 0:
        shown = format_html('<span class="text-success-emphasis">{}</span>', format_money(change))
    else:
        shown = mark_safe('<span class="text-body-secondary">no change</span>')
    if percent is None:
        return shown
    sign = "+" if percent > 0 else ""
    return format_html('{}<div class="text-body-secondary">{}{}%</div>', shown, sign, percent)
