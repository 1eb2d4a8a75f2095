"""The base of the filtered list pages (sync runs, orders, transactions)."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django_filters.views import FilterView
from django_tables2 import LazyPaginator, SingleTableMixin

from portal.htmx import HtmxTableMixin


class FilteredTableView(PermissionRequiredMixin, HtmxTableMixin, SingleTableMixin, FilterView):
    """A table of `model` under its filters, in pages, for those with `permission_required`
    (403 for others); htmx swaps the table alone."""

    raise_exception = True
    # Never COUNT(*) the rows: the paginator looks one row ahead instead.
    paginator_class = LazyPaginator
    table_pagination = {"per_page": 50}
