"""The spend report: charges per month by provider, account or number label, one chart and
table per currency, and the recurring cost of owned numbers against what was billed.

The period form is a GET form, so the URL reproduces the report; htmx swaps the `report`
partial (form and figures) and pushes the URL."""

import re
from datetime import date

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.urls import path
from django.views.generic import TemplateView

from billing.reports import (
    Breakdown,
    MonthRange,
    add_months,
    recurring_cost_vs_billed,
    spend_by_month,
    this_month,
)
from portal.forms import style_filter_form
from portal.htmx import htmx_partial, vary_on_htmx

DEFAULT_MONTHS = 12
MAX_MONTHS = 36
REPORT_TARGET = "spend-report"


class MonthInput(forms.DateInput):
    input_type = "month"

    def format_value(self, value):
        return f"{value:%Y-%m}" if isinstance(value, date) else value


class MonthField(forms.Field):
    """A calendar month, entered as YYYY-MM (what <input type=month> sends)."""

    widget = MonthInput
    default_error_messages = {"invalid": "Enter a month as YYYY-MM, for example 2025-03."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, date):
            return value.replace(day=1)
        match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(value))
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return date(int(match.group(1)), int(match.group(2)), 1)


class SpendPeriodForm(forms.Form):
    start = MonthField(label="From")
    end = MonthField(label="To")
    by = forms.ChoiceField(label="Break down by", choices=Breakdown.choices)

    def __init__(self, query, *, current_month: date):
        # A field left out or empty means its default, so /billing/spend/ alone is the
        # last twelve months by provider and a URL never has to spell out every field.
        self.defaults = {
            "start": f"{add_months(current_month, 1 - DEFAULT_MONTHS):%Y-%m}",
            "end": f"{current_month:%Y-%m}",
            "by": Breakdown.PROVIDER.value,
        }
        given = {name: query.get(name, "").strip() for name in self.defaults}
        super().__init__({name: given[name] or self.defaults[name] for name in self.defaults})
        style_filter_form(self)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                self.add_error("end", "The period ends before it starts.")
            elif MonthRange(start, end).count > MAX_MONTHS:
                self.add_error("start", f"Choose at most {MAX_MONTHS} months.")
        return cleaned

    @property
    def period(self) -> MonthRange:
        return MonthRange(self.cleaned_data["start"], self.cleaned_data["end"])


def presets(current_month: date) -> list[dict]:
    """Quick periods, each a query string for the form."""
    year = date(current_month.year, 1, 1)
    periods = [
        ("Last 12 months", add_months(current_month, -11), current_month),
        ("Last 3 months", add_months(current_month, -2), current_month),
        ("This year", year, current_month),
        ("Last year", date(year.year - 1, 1, 1), date(year.year - 1, 12, 1)),
    ]
    return [{"label": label, "start": f"{s:%Y-%m}", "end": f"{e:%Y-%m}"} for label, s, e in periods]


class SpendReportView(PermissionRequiredMixin, TemplateView):
    permission_required = "billing.view_spend_report"
    raise_exception = True
    template_name = "billing/spend.html"

    def get_template_names(self):
        if htmx_partial(self.request, REPORT_TARGET):
            return ["billing/spend.html#report"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        current = this_month()
        form = SpendPeriodForm(self.request.GET, current_month=current)
        context = {"form": form, "presets": presets(current), "report": None}
        if form.is_valid():
            context["report"] = spend_by_month(form.period, form.cleaned_data["by"])
            context["by"] = Breakdown(form.cleaned_data["by"])
            context["current_month"] = current
        # The report alone leaves the rest of the page: the period does not change it.
        if not htmx_partial(self.request, REPORT_TARGET):
            context["recurring"] = recurring_cost_vs_billed()
        return super().get_context_data(**context, **kwargs)

    @vary_on_htmx
    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        # A refused period is a bad request, except to htmx, which swaps only 2xx answers
        # and has to show the errors in place.
        if not context["form"].is_valid() and not self.request.htmx:
            response.status_code = 400
        return response


urlpatterns = [path("spend/", SpendReportView.as_view(), name="spend")]
