"""The owned numbers list: filters, sorting and pages (htmx swaps only the table), CSV and
XLSX exports of the current filter, and labels and tags set in bulk."""

from django import forms
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

from numbers.bulk import BulkChange, TagAction, apply_bulk_change, parse_tag_names
from numbers.filters import PhoneNumberFilter
from numbers.labels import clean_label
from numbers.models import PhoneNumber
from numbers.selectors import InvalidFilter, numbers_for_list, numbers_matching, with_tag_names
from numbers.tables import (
    BULK_FORM_ID,
    DEFAULT_PER_PAGE,
    PER_PAGE_CHOICES,
    ListRows,
    PhoneNumberTable,
    SafeTableExport,
    page_size,
)
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
        with_tag_names([row.record for row in table.page.object_list])
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


class SelectedIdsField(forms.Field):
    """The ids of the ticked rows (`pk`, repeated); at most one page's worth."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        try:
            ids = sorted({int(item) for item in value or ()})
        except (TypeError, ValueError) as error:
            raise ValidationError("The selection is not a list of numbers.") from error
        if len(ids) > max(PER_PAGE_CHOICES):
            raise ValidationError(
                "Tick at most %(limit)d numbers, or apply the change to all numbers matching "
                "the filter.",
                params={"limit": max(PER_PAGE_CHOICES)},
            )
        return ids


class BulkLabelForm(forms.Form):
    """A label and/or tag change for the numbers ticked in the list (`pk`) or for every
    number the list's filter matches (`query`: the list's querystring, filtered again on
    the server)."""

    LABEL_CHOICES = [("", "Leave labels"), ("set", "Set label to"), ("clear", "Clear labels")]
    SELECTED, ALL = "selected", "all"

    label_action = forms.ChoiceField(label="Label", choices=LABEL_CHOICES, required=False)
    label = forms.CharField(label="New label", required=False, strip=False)
    tag_action = forms.ChoiceField(
        label="Tags", choices=[("", "Leave tags"), *TagAction.choices], required=False
    )
    tags = forms.CharField(label="Tag names", required=False)
    scope = forms.ChoiceField(
        choices=[(SELECTED, "Ticked numbers"), (ALL, "All numbers matching the filter")],
        widget=forms.HiddenInput,
    )
    pk = SelectedIdsField(required=False)
    query = forms.CharField(required=False, widget=forms.HiddenInput)
    # The count the person confirmed; applying to a different count asks again.
    confirmed_count = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # In the list the text fields sit beside their action, named by aria-label.
        self.fields["label"].widget.attrs.update(
            {"placeholder": "New label", "aria-label": "New label"}
        )
        self.fields["tags"].widget.attrs.update(
            {"placeholder": "Tags, comma-separated", "aria-label": "Tag names"}
        )
        for field in self.fields.values():
            if isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select form-select-sm"
            elif not field.widget.is_hidden:
                field.widget.attrs["class"] = "form-control form-control-sm"

    def clean_label(self):
        return clean_label(self.cleaned_data["label"])

    def clean_tags(self):
        return parse_tag_names(self.cleaned_data["tags"])

    def clean(self):
        cleaned = super().clean()
        label_action, tag_action = cleaned.get("label_action"), cleaned.get("tag_action")
        if label_action == "set" and cleaned.get("label") == "":
            self.add_error("label", "Type the new label, or choose “Clear labels”.")
        if tag_action in (TagAction.ADD, TagAction.REMOVE) and cleaned.get("tags") == ():
            self.add_error("tags", "Name at least one tag.")
        if not label_action and not tag_action:
            raise ValidationError("Choose a label or a tag change to make.")
        if cleaned.get("scope") == self.SELECTED and cleaned.get("pk") == []:
            raise ValidationError(
                "Tick the numbers to change, or apply the change to all numbers matching "
                "the filter."
            )
        return cleaned

    @property
    def list_query(self) -> QueryDict:
        return QueryDict(self.data.get("query", ""))

    def change(self) -> BulkChange:
        label_action = self.cleaned_data["label_action"]
        tag_action = self.cleaned_data["tag_action"]
        return BulkChange(
            label={"set": self.cleaned_data["label"], "clear": ""}.get(label_action),
            tag_action=TagAction(tag_action) if tag_action else None,
            tag_names=self.cleaned_data["tags"] if tag_action else (),
        )

    def numbers(self):
        """The numbers to change. Raises InvalidFilter for a filter the list refuses."""
        if self.cleaned_data["scope"] == self.ALL:
            return numbers_matching(self.list_query)
        return PhoneNumber.objects.filter(pk__in=self.cleaned_data["pk"])


def describe_filter(query: QueryDict) -> list[tuple[str, str]] | None:
    filterset = PhoneNumberFilter(query, queryset=PhoneNumber.objects.none())
    return filterset.describe() if filterset.is_valid() else None


def list_url(query: QueryDict) -> str:
    url = reverse("numbers:list")
    return f"{url}?{query.urlencode()}" if query else url


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
    """Set the portal's label and/or tags of many numbers. More than one page of numbers
    asks for a confirmation that names the count first."""

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
        if count > page_size(form.list_query.get("per_page")) and (
            form.cleaned_data["confirmed_count"] != count
        ):
            return self.render_form(form, count=count)
        change = form.change()
        result = apply_bulk_change(numbers, change, actor=request.user)
        matched = f"{result.matched:,} number{pluralize(result.matched)}"
        if result.changed:
            messages.success(
                request,
                f"Changed {result.changed:,} of {matched}: {'; '.join(describe_change(change))}.",
            )
        else:
            messages.info(request, f"Nothing to change: {matched} already as asked.")
        return redirect(list_url(form.list_query))

    def render_form(self, form, count=None):
        """The change to confirm (with `count`) or to correct (with errors in place)."""
        context = {"form": form, "count": count, "back_url": list_url(form.list_query)}
        if form.is_valid():
            context["change"] = describe_change(form.change())
            if form.cleaned_data["scope"] == BulkLabelForm.ALL:
                context["filters"] = describe_filter(form.list_query)
        return render(request=self.request, template_name=self.template_name, context=context)


urlpatterns = [
    path("", PhoneNumberListView.as_view(), name="list"),
    path("bulk/", BulkLabelView.as_view(), name="bulk_label"),
]
