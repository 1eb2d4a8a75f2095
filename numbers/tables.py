import io
from decimal import Decimal
from html import escape

import django_tables2 as tables
from django.template.defaultfilters import date
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django_tables2.data import TableQuerysetData
from django_tables2.export import TableExport
from openpyxl import Workbook
from tablib import Dataset

from numbers.fees import UNKNOWN_FEE, fee_hint
from numbers.models import NumberOrder, PhoneNumber
from numbers.selectors.numbers import with_row_details
from numbers.selectors.usage import UsageState, usage_state
from numbers.services.sync import batched
from portal.badges import status_badge
from portal.money import format_money, shown_amount
from portal.providers.phone import format_international
from portal.spreadsheets import neutralise_formula, xlsx_cells
from portal.tables import AccountColumn, BoundedPagination, QuickRowsMixin

# The bulk label form; the row checkboxes belong to it through their `form` attribute, so
# the form need not wrap the table (whose sort and page links htmx boosts).
BULK_FORM_ID = "bulk-form"
DEFAULT_PER_PAGE = 50
PER_PAGE_CHOICES = (25, 50, 100, 200)
MONEY = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}


# What an unknown fee shows: a dash, with why in words (never 0.00).
UNKNOWN_FEE_CELL = mark_safe(  # noqa: S308 - a constant
    f'<span class="text-body-secondary" title="{escape(UNKNOWN_FEE)}">—'
    '<span class="visually-hidden"> (fee unknown)</span></span>'
)
# What unknown usage shows, by why it is unknown: a dash, never 0 or "never".
UNKNOWN_USAGE = {
    UsageState.NOT_SYNCED: "Unknown: the account's call records are not synced yet.",
    UsageState.NOT_PUBLISHED: "Unknown: the provider publishes no call records.",
}
UNKNOWN_USAGE_CELLS = {
    state: mark_safe(  # noqa: S308 - constants
        f'<span class="text-body-secondary" title="{escape(why)}">—'
        '<span class="visually-hidden"> (usage unknown)</span></span>'
    )
    for state, why in UNKNOWN_USAGE.items()
}


def plain_amount(amount: Decimal | None) -> Decimal | None:
    """The amount as the `money` filter shows it (1.5000 → 1.50, 0.0085 → 0.0085), for
    exports: no thousands separator, no currency. Unknown stays None: an empty cell."""
    return None if amount is None else shown_amount(amount)


def page_size(requested) -> int:
    """The rows per page for a `per_page` from the URL: within bounds, so no URL makes one
    page load the whole table; the default when it is missing or not a number."""
    try:
        size = int(requested)
    except (TypeError, ValueError):
        return DEFAULT_PER_PAGE
    return min(max(size, 1), max(PER_PAGE_CHOICES))


def sorted_by(*fields):
    """Sort on `fields`, then on the number and the row id, so that rows that tie keep one
    order: pages then neither repeat nor skip a row, and exports match the screen."""
    return (*fields, "number", "pk")


class PhoneNumberTable(QuickRowsMixin, BoundedPagination, tables.Table):
    max_per_page = max(PER_PAGE_CHOICES)

    select = tables.CheckBoxColumn(
        accessor="pk",
        exclude_from_export=True,
        attrs={
            "th": {"class": "select-column"},
            "td": {"class": "select-column"},
            "th__input": {
                "class": "form-check-input",
                "data-select-page": "",
                "aria-label": "Select every number on this page",
            },
            "td__input": {
                "class": "form-check-input",
                "name": "pk",
                "form": BULK_FORM_ID,
                "aria-label": lambda record: f"Select {record.display_number}",
            },
        },
    )
    number = tables.Column(
        linkify=True,
        order_by=sorted_by(),
        attrs={
            "td": {"class": "number text-nowrap font-monospace"},
            "a": {"class": "text-decoration-none"},
        },
    )
    # Never empty: without a label of its own a number shows its provider's, or a dash.
    label = tables.Column(
        order_by=sorted_by("label"), attrs={"td": {"class": "label"}}, empty_values=()
    )
    upstream_label = tables.Column(verbose_name="Label at provider", visible=False)
    tags = tables.Column(accessor="pk", verbose_name="Tags", visible=False)
    # On screen the account cell names its provider too (sorted by both); exports keep
    # them in two columns.
    provider = tables.Column(
        accessor="provider__name",
        verbose_name="Provider",
        order_by=sorted_by("provider__name"),
        visible=False,
    )
    account = AccountColumn(
        provider="provider",
        order_by=sorted_by("provider__name", "account__name"),
        attrs={"td": {"class": "text-nowrap"}},
    )
    status = tables.Column(order_by=sorted_by("status"))
    number_type = tables.Column(verbose_name="Type", order_by=sorted_by("number_type"))
    country = tables.Column(order_by=sorted_by("country"))
    capabilities = tables.Column(accessor="pk", verbose_name="Capabilities", visible=False)
    monthly_fee = tables.Column(
        verbose_name="Monthly", order_by=sorted_by("monthly_fee"), attrs=MONEY
    )
    setup_fee = tables.Column(verbose_name="Setup", visible=False)
    currency = tables.Column(visible=False)
    purchased_at = tables.Column(
        verbose_name="Purchased",
        order_by=sorted_by("purchased_at"),
        attrs={"td": {"class": "text-nowrap"}},
    )
    # Counted for the rows shown (numbers.selectors.usage.with_calls_in_last_days); not
    # sortable, as sorting on it would sum every number's calls first.
    calls_30d = tables.Column(
        verbose_name="Calls (30 d)",
        orderable=False,
        empty_values=(),
        attrs={"td": {"class": "text-end"}, "th": {"class": "text-end text-nowrap"}},
    )
    last_call_at = tables.Column(
        verbose_name="Last call",
        order_by=sorted_by("last_call_at"),
        empty_values=(),
        attrs={"td": {"class": "text-nowrap"}},
    )

    class Meta:
        model = PhoneNumber
        fields = ()
        sequence = (
            "select",
            "number",
            "label",
            "upstream_label",
            "tags",
            "provider",
            "account",
            "status",
            "number_type",
            "country",
            "capabilities",
            "monthly_fee",
            "setup_fee",
            "currency",
            "calls_30d",
            "last_call_at",
            "purchased_at",
        )
        order_by = "number"
        attrs = {"class": "table table-hover align-middle mb-0 numbers-table"}
        empty_text = "No numbers match these filters."
        template_name = "quick_rows_table.html"

    def paginate(self, *args, per_page=DEFAULT_PER_PAGE, **kwargs):
        super().paginate(*args, per_page=page_size(per_page), **kwargs)

    # The cells of a page on screen, written directly (see QuickRowsMixin); None shows the
    # column's default. Plain f-strings with the standard library's `escape` (what Django's
    # escape calls), as Django's lazy-aware format_html costs more than the rest of a cell.

    def cell_select(self, record):
        return mark_safe(  # noqa: S308 - the one value written in is escaped
            f'<input type="checkbox" name="pk" value="{record.pk}" class="form-check-input" '
            f'form="{BULK_FORM_ID}" aria-label="Select {escape(record.display_number)}"/>'
        )

    def cell_number(self, record):
        return mark_safe(  # noqa: S308 - the values written in are escaped
            f'<a href="{escape(self._detail_url.format(record.pk))}" '
            f'class="text-decoration-none">{escape(record.display_number)}</a>'
        )

    @cached_property
    def _detail_url(self) -> str:
        # A row's link differs from the next only by its id: one reverse() per page, not
        # one per row (PhoneNumber.get_absolute_url; the rows' test compares the two).
        return reverse("numbers:detail", args=[0]).removesuffix("0/") + "{}/"

    def cell_label(self, record):
        return self.render_label(record)

    def cell_status(self, record):
        return self.render_status(record)

    def cell_number_type(self, record):
        return escape(record.get_number_type_display()) if record.number_type else None

    def cell_country(self, record):
        return escape(record.country) if record.country else None

    def cell_monthly_fee(self, record):
        return self.render_monthly_fee(record)

    def cell_purchased_at(self, record):
        return (
            None if record.purchased_at is None else self.render_purchased_at(record.purchased_at)
        )

    def cell_calls_30d(self, record):
        return self.render_calls_30d(record)

    def cell_last_call_at(self, record):
        return self.render_last_call_at(record)

    # On screen: what a person reads. In exports (value_*): plain values a spreadsheet can
    # compute with, money as a decimal beside its currency.

    def render_number(self, record):
        return record.display_number

    def value_number(self, record):
        return record.number

    def render_label(self, record):
        if record.label:
            label = escape(record.label)
        else:
            label = (
                '<span class="text-body-secondary" title="Label at the provider">'
                f"{escape(record.upstream_label or '—')}</span>"
            )
        tags = "".join(
            f'<span class="badge rounded-pill text-bg-light border ms-1">{escape(name)}</span>'
            for name in record.tag_names
        )
        return mark_safe(label + tags)  # noqa: S308 - every value written in is escaped

    def value_account(self, record):
        return record.account.name

    def value_label(self, record):
        return record.label

    def value_tags(self, record):
        return ", ".join(record.tag_names)

    def value_capabilities(self, record):
        return ", ".join(record.capabilities)

    def render_status(self, record):
        return status_badge(PhoneNumber.Status, record.status)

    def value_status(self, record):
        return record.get_status_display()

    def value_number_type(self, record):
        return record.get_number_type_display()

    def render_monthly_fee(self, record):
        if record.monthly_fee is None:
            return UNKNOWN_FEE_CELL
        text = escape(format_money(record.monthly_fee, record.currency))
        if not record.fee_is_converted:
            return text
        return mark_safe(  # noqa: S308 - the values written in are escaped
            f'<span title="{escape(fee_hint(record, "monthly_fee"))}">≈ {text}</span>'
        )

    def value_monthly_fee(self, record):
        return plain_amount(record.monthly_fee)

    def value_setup_fee(self, record):
        return plain_amount(record.setup_fee)

    def render_purchased_at(self, value):
        return timezone.localdate(value).isoformat()

    def value_purchased_at(self, record):
        # A date, not text: spreadsheets sort and filter it as one.
        return timezone.localdate(record.purchased_at) if record.purchased_at else None

    def value_provider(self, record):
        return record.provider.name

    def render_calls_30d(self, record):
        state = usage_state(record.account, record.provider)
        if state is not UsageState.KNOWN:
            return UNKNOWN_USAGE_CELLS[state]
        return f"{record.calls_30d:,}"

    def value_calls_30d(self, record):
        if usage_state(record.account, record.provider) is not UsageState.KNOWN:
            return None
        return record.calls_30d

    def render_last_call_at(self, record):
        state = usage_state(record.account, record.provider)
        if state is not UsageState.KNOWN:
            return UNKNOWN_USAGE_CELLS[state]
        if record.last_call_at is None:
            return mark_safe('<span class="text-body-secondary">Never</span>')
        return timezone.localdate(record.last_call_at).isoformat()

    def value_last_call_at(self, record):
        # Empty where unknown or never: the "Calls (30 d)" cell tells the two apart.
        return timezone.localdate(record.last_call_at) if record.last_call_at else None

    def as_values(self, exclude_columns=()):
        """The export's rows, as django-tables2's `as_values` gives them, without its
        introspection of every cell (which costs more than everything else together in a
        large export): each column's value is its `value_<name>(record)` or its field."""
        columns = [
            column
            for column in self.columns.iterall()
            if not (column.column.exclude_from_export or column.name in exclude_columns)
        ]
        yield [str(column.header) for column in columns]
        getters = [
            getattr(self, f"value_{column.name}", None) or column.accessor.resolve
            for column in columns
        ]
        for record in self.data:
            yield [get(record) for get in getters]


class IdleNumberTable(PhoneNumberTable):
    """The idle numbers (numbers.views.idle): what they cost and when they were last
    called, in the order of the page's groups; exports say each rental's period."""

    rental_period_days = tables.Column(verbose_name="Rental period (days)", visible=False)

    class Meta(PhoneNumberTable.Meta):
        exclude = ("status", "number_type", "country", "capabilities", "calls_30d")
        sequence = (
            "select",
            "number",
            "label",
            "upstream_label",
            "tags",
            "provider",
            "account",
            "last_call_at",
            "purchased_at",
            "monthly_fee",
            "rental_period_days",
            "setup_fee",
            "currency",
        )
        order_by = "account"
        empty_text = "No idle numbers match these filters."

    def value_rental_period_days(self, record):
        # Empty for a calendar month; else the days the provider's price covers.
        return record.rental_period_days if record.fee_is_converted else None


class ListRows(TableQuerysetData):
    """The list's rows. A page (a slice) is read as usual and gets its tags from the view;
    a full iteration (an export: every row) reads the rows in chunks, each with its tags
    in one query, so a large export never caches the whole table at once."""

    CHUNK_SIZE = 2000

    def __iter__(self):
        rows = self.data.iterator(chunk_size=self.CHUNK_SIZE)
        for chunk in batched(rows, self.CHUNK_SIZE):
            yield from with_row_details(chunk)


class SafeTableExport(TableExport):
    """django-tables2's export (every row of the table, in its order) as spreadsheets open
    it safely (portal.spreadsheets): a CSV file marked as UTF-8 (a byte order mark, which
    Excel needs to read accents and dashes) with formula-like text quoted in every cell,
    headers included; an XLSX file with such text in text cells and amounts as numbers."""

    def export(self):
        if self.format == self.XLSX:
            return self._xlsx()
        if self.format != self.CSV:
            return super().export()
        safe = Dataset(title=self.dataset.title)
        safe.headers = [neutralise_formula(header) for header in self.dataset.headers]
        for row in self.dataset:
            safe.append([neutralise_formula(value) for value in row])
        return "\ufeff" + safe.export(self.CSV)

    def _xlsx(self) -> bytes:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(self.dataset.title)
        sheet.freeze_panes = "A2"
        sheet.append(xlsx_cells(sheet, self.dataset.headers))
        for row in self.dataset:
            sheet.append(xlsx_cells(sheet, row))
        content = io.BytesIO()
        workbook.save(content)
        return content.getvalue()


class NumberOrderTable(BoundedPagination, tables.Table):
    created_at = tables.DateTimeColumn(
        verbose_name="When", attrs={"td": {"class": "text-nowrap"}}, format="Y-m-d H:i"
    )
    number = tables.Column(attrs={"td": {"class": "text-nowrap"}})
    account = AccountColumn(
        order_by=("account__name", "-created_at"),
        attrs={
            "th": {"class": "d-none d-md-table-cell"},
            "td": {"class": "d-none d-md-table-cell"},
        },
    )
    state = tables.TemplateColumn(template_name="numbers/orders.html#order_state")
    price = tables.Column(
        verbose_name="Price",
        accessor="monthly_fee",
        attrs={"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}},
    )
    error_message = tables.Column(
        verbose_name="Details", orderable=False, attrs={"td": {"class": "order-details small"}}
    )

    class Meta:
        model = NumberOrder
        # Number and state first: on a phone they are what shows without scrolling.
        fields = ("number", "state", "created_at", "account", "price", "error_message")
        order_by = "-created_at"
        empty_text = "No orders match these filters."

    def render_created_at(self, record, value):
        who = record.requested_by.get_username() if record.requested_by else "system"
        return format_html(
            '{}<div class="small text-body-secondary">by {}</div>',
            date(timezone.localtime(value), "Y-m-d H:i"),
            who,
        )

    def render_number(self, record):
        shown = format_international(record.number)
        if record.phone_number_id and record.state == NumberOrder.State.COMPLETED:
            shown = format_html(
                '<a href="{}">{}</a>', record.phone_number.get_absolute_url(), shown
            )
        return format_html(
            '<span class="font-monospace">{}</span>'
            '<div class="small text-body-secondary d-md-none">{} · {}</div>',
            shown,
            record.account.provider.name,
            record.account.name,
        )

    def render_price(self, record):
        return format_html(
            '{} <span class="text-body-secondary">/ month</span>'
            '<div class="small text-body-secondary">setup {}</div>',
            format_money(record.monthly_fee, record.currency),
            format_money(record.setup_fee, record.currency),
        )
