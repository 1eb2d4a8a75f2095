"""Transactions: filters, sorting and pages (htmx swaps the totals and the table together),
totals per currency for the whole filter, and CSV and XLSX exports of it."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.views import View

from billing.exports import csv_response, xlsx_response
from billing.filters import TransactionFilter
from billing.models import Transaction
from billing.selectors.transactions import transaction_totals, transactions_for_list
from billing.tables import PER_PAGE, PER_PAGE_CHOICES, TransactionTable, sorted_like_table
from portal.lists import FilteredTableView

VIEW_PERMISSION = "billing.view_transaction"
EXPORT_PERMISSION = "billing.export_transactions"
EXPORT_FORMATS = ("csv", "xlsx")


def export_query(query) -> str:
    """The list's querystring for an export: its filters and sort, not its page."""
    query = query.copy()
    query.pop("page", None)
    return query.urlencode()


def filter_errors(form) -> list[tuple[str, str]]:
    """The filter form's errors as (field label, message) pairs; the label is empty for
    an error about the form as a whole."""
    return [
        (str(form.fields[name].label) if name in form.fields else "", message)
        for name, messages in form.errors.items()
        for message in messages
    ]


class TransactionListView(FilteredTableView):
    permission_required = VIEW_PERMISSION
    model = Transaction
    table_class = TransactionTable
    filterset_class = TransactionFilter
    template_name = "billing/transaction_list.html"
    partial_template_name = "billing/transaction_list.html#table"
    # The totals count what matches, by currency, in the query that sums it.
    table_pagination = {"per_page": PER_PAGE}

    def get_queryset(self):
        return transactions_for_list()

    def get_table_kwargs(self):
        if self.filterset.in_use:
            return {}
        return {"empty_text": "No transactions yet: they appear here once an account has synced."}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Unbound (no querystring at all) means no filter, which is valid.
        valid = not self.filterset.is_bound or self.filterset.is_valid()
        totals = transaction_totals(self.filterset.qs) if valid else []
        page = context["table"].page
        first = (page.number - 1) * page.paginator.per_page + 1
        shown = len(page.object_list)
        query = export_query(self.request.GET)
        can_export = valid and self.request.user.has_perm(EXPORT_PERMISSION)
        return context | {
            "totals": totals,
            "matching": sum(group.transactions for group in totals),
            "first_row": first if shown else 0,
            "last_row": first + shown - 1,
            "has_estimates": any(group.is_estimate for group in totals),
            "per_page_choices": PER_PAGE_CHOICES,
            "filter_errors": [] if valid else filter_errors(self.filterset.form),
            "exports": [
                (name, f"{reverse(f'billing:transactions_{name}')}?{query}".rstrip("?"))
                for name in EXPORT_FORMATS
            ]
            if can_export
            else [],
        }


class TransactionExportView(PermissionRequiredMixin, View):
    """Every transaction the list's filter matches, in the list's order, as a file. A
    filter the list refuses sends the user back to it, where the errors show."""

    permission_required = (VIEW_PERMISSION, EXPORT_PERMISSION)
    raise_exception = True
    http_method_names = ["get"]
    respond = None  # csv_response or xlsx_response
    extension = ""

    def get(self, request):
        filterset = TransactionFilter(request.GET, queryset=transactions_for_list())
        if not filterset.is_valid():
            return redirect(f"{reverse('billing:transactions')}?{request.GET.urlencode()}")
        transactions = sorted_like_table(filterset.qs, request.GET.get("sort"))
        filename = f"transactions-{timezone.localdate().isoformat()}.{self.extension}"
        return self.respond(transactions, filename)


urlpatterns = [
    path("transactions/", TransactionListView.as_view(), name="transactions"),
    path(
        "transactions/export.csv",
        TransactionExportView.as_view(respond=csv_response, extension="csv"),
        name="transactions_csv",
    ),
    path(
        "transactions/export.xlsx",
        TransactionExportView.as_view(respond=xlsx_response, extension="xlsx"),
        name="transactions_xlsx",
    ),
]
