"""Idle numbers: those nobody called in N days (60 unless asked), what they cost a month per
currency, grouped by provider, account and label, and the numbers themselves to label, tag
or export. The numbers list's filter decides which numbers match (its `idle_days` among
them), so a bulk change of "all matching" applies the same filter again on the server."""

from django.http import QueryDict
from django.urls import path
from django.utils import timezone

from numbers.forms import BulkLabelForm
from numbers.selectors.usage import DEFAULT_IDLE_DAYS, accounts_not_judged, idle_summary
from numbers.tables import IdleNumberTable
from numbers.views.lists import PhoneNumberListView

# The filters the page shows; any other of the numbers list's that the URL sets shows too
# (with its errors), as it applies all the same.
FIELDS = ("idle_days", "provider", "account", "label", "tag")
# The most groups the summary lists; the totals always count every idle number.
MAX_GROUPS = 100


class IdleNumbersView(PhoneNumberListView):
    table_class = IdleNumberTable
    template_name = "numbers/idle.html"
    partial_template_name = "numbers/idle.html#table"

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["data"] = self.query()
        return kwargs

    def query(self) -> QueryDict:
        """The URL's filter, with the default number of days when it names none: never
        the numbers list's "every number" (an empty value included)."""
        query = self.request.GET.copy()
        if not query.get("idle_days"):
            query["idle_days"] = str(DEFAULT_IDLE_DAYS)
        return query

    def bulk_query(self) -> QueryDict:
        query = self.query()
        for name in ("page", "per_page", "sort", "_export"):
            query.pop(name, None)
        return query

    def shown_fields(self, form):
        query = self.request.GET
        extra = [name for name in form.fields if name not in FIELDS and query.get(name)]
        return [form[name] for name in (*FIELDS, *extra)]

    def filtered(self):
        return any(self.request.GET.get(name) for name in FIELDS if name != "idle_days")

    def get_table_kwargs(self):
        kwargs = super().get_table_kwargs()
        kwargs.pop("empty_text", None)  # the page says what "nothing idle" means itself
        return kwargs

    def get_export_filename(self, export_format):
        return f"idle-numbers-{timezone.localdate().isoformat()}.{export_format}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = self.filterset
        summary = idle_summary(filterset.qs) if filterset.is_valid() else None
        if summary is not None:
            context["matching_count"] = summary.numbers
        return context | {
            "fields": self.shown_fields(filterset.form),
            "days": filterset.form.cleaned_data.get("idle_days") if filterset.is_valid() else None,
            "summary": summary,
            "groups": summary.groups[:MAX_GROUPS] if summary else [],
            "groups_left_out": max(len(summary.groups) - MAX_GROUPS, 0) if summary else 0,
            "not_judged": accounts_not_judged(),
            "bulk_origin": BulkLabelForm.IDLE,
        }


urlpatterns = [path("idle/", IdleNumbersView.as_view(), name="idle")]
