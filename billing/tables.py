import django_tables2 as tables
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from billing.models import Transaction
from portal.badges import status_badge
from portal.money import format_money
from portal.providers.phone import format_international
from portal.tables import AccountColumn, BoundedPagination


def cell(name, *classes):
    """Column attrs naming the cell (`cell-<name>`), which lays a row out on phones."""
    return {"td": {"class": " ".join((f"cell-{name}", *classes))}, "th": {"class": f"cell-{name}"}}


PER_PAGE = 50
PER_PAGE_CHOICES = (25, 50, 100)  # the largest is the table's max_per_page


def sorted_by(*fields):
    """Sort on `fields`, then on the date and the row id, so rows that tie keep one order:
    pages neither repeat nor skip a row, and an export lists them as the screen does."""
    return (*fields, "occurred_at", "pk")


ESTIMATED_BADGE = mark_safe('<span class="badge text-bg-warning">estimated</span>')


class TransactionTable(BoundedPagination, tables.Table):
    max_per_page = max(PER_PAGE_CHOICES)

    occurred_at = tables.DateTimeColumn(
        verbose_name="Date",
        format="Y-m-d H:i",
        order_by=("occurred_at", "pk"),
        attrs=cell("date", "text-nowrap"),
    )
    # The account cell names its provider under it; sorting goes by both.
    account = AccountColumn(
        order_by=sorted_by("account__provider__name", "account__name"), attrs=cell("account")
    )
    kind = tables.Column(
        verbose_name="Type", order_by=sorted_by("kind"), attrs=cell("kind", "text-nowrap")
    )
    # Rendered even when empty: the number the provider names shows under it.
    description = tables.Column(
        order_by=sorted_by("description"), empty_values=(), attrs=cell("description")
    )
    # Amounts in different currencies do not compare: sort within each currency.
    amount = tables.Column(
        order_by=sorted_by("currency", "balance_effect"),
        attrs={
            "td": {"class": "cell-amount text-end text-nowrap"},
            "th": {"class": "cell-amount text-end"},
        },
    )

    class Meta:
        model = Transaction
        fields = ()
        sequence = ("occurred_at", "account", "kind", "description", "amount")
        order_by = "-occurred_at"
        attrs = {"class": "table table-hover align-middle mb-0 transactions-table"}
        empty_text = "No transactions match these filters."

    def render_kind(self, record):
        badge = status_badge(Transaction.Kind, record.kind)
        if record.is_estimate:
            return format_html("{} {}", badge, ESTIMATED_BADGE)
        return badge

    def render_description(self, record):
        number = (
            format_html(
                '<div class="small font-monospace text-body-secondary">{}</div>',
                format_international(record.number),
            )
            if record.number
            else ""
        )
        return format_html("{}{}", record.description or "—", number)

    def render_amount(self, record):
        return format_html(
            '<span class="{}">{}</span>',
            "text-body" if record.is_debit else "text-success",
            format_money(record.signed_amount, record.currency),
        )


def sorted_like_table(transactions, sort: str | None):
    """`transactions` in the order the table shows them for the URL's `sort` (an unknown
    column falls back to the table's default), for exports."""
    table = TransactionTable(transactions, order_by=sort or None)
    return table.data.data
