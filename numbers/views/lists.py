"""The owned numbers list: filters, sorting and pages (htmx swaps only the table), CSV and
XLSX exports of the current filter, and labels and tags set in bulk."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import path, reverse
from django.utils import timezone
from django.views import View
from django_filters.views import FilterView
from django_tables2 import LazyPaginator, SingleTableMixin
from django_tables2.export import ExportMixin

from numbers.filters import PhoneNumberFilter
from numbers.forms import BulkLabelForm
from numbers.models import PhoneNumber
from numbers.selectors.numbers import (
    InvalidFilter,
    numbers_for_list,
    with_row_details,
)
from numbers.services import bulk
from numbers.services.bulk import (
    BulkChange,
    LabelSent,
    TagAction,
    apply_bulk_change,
    labelled_upstream,
)
from numbers.tables import (
    BULK_FORM_ID,
    DEFAULT_PER_PAGE,
    PER_PAGE_CHOICES,
    ListRows,
    PhoneNumberTable,
    SafeTableExport,
)
from numbers.views.detail import upstream_problem
from portal.htmx import HtmxTableMixin

LABEL_PERMISSION = "numbers.label_number"


class PhoneNumberListView(
    PermissionRequiredMixin, HtmxTableMixin, ExportMixin, SingleTableMixin, FilterView
):
    permission_required = "numbers.view_phonenumber"
    raise_exception = True
    model = PhoneNumber
    table_class = PhoneNumberTable
    filterset_class = PhoneNumberFilter
    template_name = "numbers/number_list.html"
    partial_template_name = "numbers/number_list.html#table"
    # Never COUNT(*) the whole table: the paginator looks one row ahead instead.
    paginator_class = LazyPaginator
    table_pagination = {"per_page": DEFAULT_PER_PAGE}
    export_class = SafeTableExport
    export_formats = (SafeTableExport.CSV, SafeTableExport.XLSX)

    def get_queryset(self):
        return numbers_for_list()

    def get_table_data(self):
        return ListRows(super().get_table_data())

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        with_row_details([row.record for row in table.page.object_list])
        return table

    def can_label(self):
        return self.request.user.has_perm(LABEL_PERMISSION)

    def filtered(self):
        return any(self.request.GET.get(name) for name in self.filterset.form.fields)

    def get_table_kwargs(self):
        kwargs = {}
        if not self.can_label():
            kwargs["exclude"] = ("select",)
        if not self.filtered():
            kwargs["empty_text"] = "No numbers yet: they appear here once an account has synced."
        return kwargs

    def bulk_query(self) -> QueryDict:
        """The filter a bulk change of "all matching" applies again on the server."""
        return self.request.GET

    def get_export_filename(self, export_format):
        return f"numbers-{timezone.localdate().isoformat()}.{export_format}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        return (
            context
            | rows_shown(context["table"].page)
            | {
                "can_label": self.can_label(),
                "filtered": self.filtered(),
                "bulk_form": BulkLabelForm(),
                "bulk_form_id": BULK_FORM_ID,
                "bulk_query": self.bulk_query().urlencode(),
                "per_page_choices": PER_PAGE_CHOICES,
                "export_formats": self.export_formats,
            }
        )


def rows_shown(page) -> dict:
    """Which rows the page shows (first to last), and how many match in all where that is
    known without counting: on the last page."""
    shown = len(page.object_list)
    first = (page.number - 1) * page.paginator.per_page + 1
    last = first + shown - 1
    return {
        "first_row": first if shown else 0,
        "last_row": last,
        "matching_count": None if page.has_next() else max(last, 0),
    }


def describe_filter(query: QueryDict) -> list[tuple[str, str]] | None:
    filterset = PhoneNumberFilter(query, queryset=PhoneNumber.objects.none())
    return filterset.describe() if filterset.is_valid() else None


def list_url(query: QueryDict, *, idle: bool = False) -> str:
    """The list a bulk change came from (the numbers, or the idle numbers), as it was."""
    url = reverse("numbers:idle" if idle else "numbers:list")
    return f"{url}?{query.urlencode()}" if query else url


def back_to(form: BulkLabelForm) -> dict:
    return {
        "back_url": list_url(form.list_query, idle=form.from_idle),
        "back_label": "Idle numbers" if form.from_idle else "Numbers",
    }


def describe_change(change: BulkChange) -> list[str]:
    parts = []
    if change.label:
        parts.append(f"label set to “{change.label}”")
    elif change.label == "":
        parts.append("label cleared")
    if change.tag_action:
        names = ", ".join(change.tag_names) or "none"
        parts.append(f"{TagAction(change.tag_action).label.lower()}: {names}")
    return parts


class BulkLabelView(PermissionRequiredMixin, View):
    """Set the label and/or tags of many numbers (numbers.services.bulk: labels go upstream too
    where the provider keeps them). Every number matching the list's filter, rather than
    the ticked rows, asks for a confirmation that names the count first; the results of
    labels sent upstream show number by number."""

    permission_required = LABEL_PERMISSION
    raise_exception = True
    http_method_names = ["post"]
    template_name = "numbers/number_bulk.html"

    def post(self, request):
        form = BulkLabelForm(request.POST)
        if not form.is_valid():
            return self.render_form(form)
        try:
            numbers = form.numbers()
        except InvalidFilter:
            form.add_error(None, "The list's filter is not valid; go back and correct it.")
            return self.render_form(form)
        count = numbers.count()
        # Anything beyond the ticked rows is confirmed with its count first, and again if
        # the count changed since (a number synced in meanwhile).
        if form.cleaned_data["scope"] == BulkLabelForm.ALL and (
            form.cleaned_data["confirmed_count"] != count
        ):
            return self.render_form(form, count=count, numbers=numbers)
        change = form.change()
        result = apply_bulk_change(numbers, change, actor=request.user)
        matched = f"{result.matched:,} number{pluralize(result.matched)}"
        summary = f"Changed {result.changed:,} of {matched}: {'; '.join(describe_change(change))}."
        if result.sent:
            # Each number sent upstream has its own outcome: shown in full, not as a message.
            context = {"result": result, "sent": [SentRow.of(item) for item in result.sent]}
            context |= {"summary": summary, **back_to(form)}
            return self.render_page(context)
        if result.changed:
            messages.success(request, summary)
        else:
            messages.info(request, f"Nothing to change: {matched} already as asked.")
        if result.not_sent:
            messages.warning(request, not_sent_note(result))
        return redirect(back_to(form)["back_url"])

    def render_form(self, form, count=None, numbers=None):
        """The change to confirm (with `count`) or to correct (with errors in place)."""
        context = {"form": form, "count": count, **back_to(form)}
        if form.is_valid():
            change = form.change()
            context["change"] = describe_change(change)
            if form.cleaned_data["scope"] == BulkLabelForm.ALL:
                context["filters"] = describe_filter(form.list_query)
            if numbers is not None and change.label is not None:
                context["labels_upstream"] = labels_upstream_note(numbers, count)
        return self.render_page(context)

    def render_page(self, context):
        return render(request=self.request, template_name=self.template_name, context=context)


@dataclass(frozen=True)
class SentRow:
    """A number whose label was sent to its provider, and why it was refused, in words."""

    phone_number: PhoneNumber
    done: bool
    reason: str = ""

    @classmethod
    def of(cls, item: LabelSent) -> "SentRow":
        error = item.error
        if error is None:
            return cls(item.phone_number, done=True)
        if isinstance(error, ValidationError):
            return cls(item.phone_number, done=False, reason=" ".join(error.messages))
        reason = upstream_problem(error, "label change", "Its label is unchanged.")
        return cls(item.phone_number, done=False, reason=reason)


def labels_upstream_note(numbers, count: int) -> str:
    """What a label change does at the providers, for the confirmation."""
    upstream = labelled_upstream(numbers)
    providers = ", ".join(sorted(set(upstream.values_list("provider__name", flat=True))))
    if not providers:
        return ""
    if count > bulk.UPSTREAM_LABEL_LIMIT:
        return (
            f"More than {bulk.UPSTREAM_LABEL_LIMIT:,} numbers: the label changes in the portal "
            f"only; the numbers at {providers} keep the label they have there."
        )
    sending = upstream.count()
    return (
        f"The label is sent to the provider too for {sending:,} of them ({providers}), "
        "one number at a time; each shows whether its provider took it."
    )


def not_sent_note(result) -> str:
    at = ", ".join(result.not_sent_providers)
    return (
        f"Labels changed in the portal only: {result.not_sent:,} number"
        f"{pluralize(result.not_sent)} at {at} keep their label there, as labels are sent to "
        f"providers for at most {bulk.UPSTREAM_LABEL_LIMIT:,} numbers at a time."
    )


urlpatterns = [
    path("", PhoneNumberListView.as_view(), name="list"),
    path("bulk/", BulkLabelView.as_view(), name="bulk_label"),
]
