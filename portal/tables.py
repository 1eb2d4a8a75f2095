from html import escape
from operator import attrgetter

import django_tables2 as tables
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from portal.badges import status_badge
from portal.models import SyncRun

FIGURE = {"td": {"class": "text-end"}, "th": {"class": "text-end"}}


class QuickRowsMixin:
    """A table whose page of rows is written in one pass of Python, not a template loop.

    django-tables2 renders each cell through its template, a signature inspection and an
    attribute dict: for a page of 100 rows that is most of a list page's time. A column with
    a `cell_<name>(record)` method, or whose Column has a `quick_cell(record)` method (such
    as AccountColumn), has its cell written by it (HTML, or None where the column shows its
    default); any other column goes through django-tables2 as before. The table's template
    writes `table.quick_rows` into its `<tbody>`; tests check that the rows equal what
    django-tables2 renders."""

    def quick_rows(self) -> SafeString:
        columns = [
            (column, column.attrs["td"].as_html(), self._quick_cell(column))
            for column in self.columns
        ]
        rows = []
        for row in self.paginated_rows:
            cells = []
            for column, td_attrs, cell in columns:
                content = row.get_cell(column.name) if cell is None else cell(row.record)
                content = column.default if content is None else content
                cells.append(f"<td {td_attrs}>{conditional_escape(content)}</td>")
            rows.append(f"<tr {row.attrs.as_html()}>{''.join(cells)}</tr>")
        # Safe: attributes come from AttributeDict (escaped), cells are escaped or safe.
        return mark_safe("".join(rows))  # noqa: S308

    def _quick_cell(self, column):
        return getattr(self, f"cell_{column.name}", None) or getattr(
            column.column, "quick_cell", None
        )


class AccountColumn(tables.Column):
    """An account as every table shows it: its name, with its provider's name under it.
    The column's value (what it sorts on unless told otherwise) is the account's name.

    `provider` is the path from a row to the account's provider: a number joins its own
    provider and not the account's (numbers.selectors.numbers_for_list)."""

    def __init__(self, *, provider: str = "account.provider", **kwargs):
        super().__init__(**{"accessor": "account__name", "verbose_name": "Account", **kwargs})
        self._provider = attrgetter(provider)

    def render(self, record):
        # The standard library's escape (what Django's calls) rather than format_html, as
        # the numbers list writes this cell for every row (QuickRowsMixin).
        return mark_safe(  # noqa: S308 - the values written in are escaped
            f'{escape(record.account.name)}<div class="small text-body-secondary">'
            f"{escape(self._provider(record).name)}</div>"
        )

    quick_cell = render


# Pages beyond this row are past the end of any table: the number stops there rather than
# reach the database as an offset it cannot hold (SQLite and PostgreSQL stop at 2**63).
LAST_ROW = 10**12


class BoundedPagination:
    """Table mixin: the page size a URL asks for (`?per_page=`) stays between 1 and
    `max_per_page`, so no URL breaks the page (0 or less rows) or loads a whole table, and
    a page number past any table's end stays one the database can count to."""

    max_per_page = 100

    def paginate(self, *args, page=1, per_page=25, **kwargs):
        per_page = min(max(per_page, 1), self.max_per_page)
        page = min(page, LAST_ROW // per_page) if isinstance(page, int) else page
        super().paginate(*args, page=page, per_page=per_page, **kwargs)


class SyncRunTable(BoundedPagination, tables.Table):
    # Dates as on every other page (Y-m-d H:i).
    started_at = tables.DateTimeColumn(
        verbose_name="Started", format="Y-m-d H:i", attrs={"td": {"class": "text-nowrap"}}
    )
    account = AccountColumn()
    kind = tables.Column(verbose_name="What")
    status = tables.Column()
    rows_fetched = tables.Column(verbose_name="Fetched", attrs=FIGURE)
    rows_created = tables.Column(verbose_name="Created", attrs=FIGURE)
    rows_updated = tables.Column(verbose_name="Updated", attrs=FIGURE)
    rows_released = tables.Column(verbose_name="Released", attrs=FIGURE)
    duration = tables.Column(empty_values=(), orderable=False, attrs=FIGURE)
    triggered_by = tables.Column(verbose_name="By", default="system")
    # Red only where there is an error (a success's "—" is not one); words break only
    # where a line could not hold them (static/portal/sync_runs.css).
    error = tables.Column(
        attrs={
            "td": {
                "class": lambda record: (
                    "small text-danger sync-error" if record.error else "text-body-secondary"
                )
            }
        }
    )

    class Meta:
        model = SyncRun
        fields = (
            "started_at",
            "account",
            "kind",
            "status",
            "rows_fetched",
            "rows_created",
            "rows_updated",
            "rows_released",
            "duration",
            "triggered_by",
            "error",
        )
        order_by = "-started_at"
        empty_text = "No sync has run yet."

    def render_status(self, record):
        return status_badge(SyncRun.Status, record.status)

    def render_duration(self, record):
        return f"{record.duration.total_seconds():.1f} s" if record.duration else "—"
