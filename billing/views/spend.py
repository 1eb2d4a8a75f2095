"""The spend report: charges per month by provider, account or number label, one chart and
table per currency, and the recurring cost of owned numbers against what was billed.

The period form is a GET form, so the URL reproduces the report; htmx swaps the `report`
partial (form and figures) and pushes the URL."""

from datetime import date

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.urls import path
from django.views.generic import TemplateView

from billing.forms import SpendPeriodForm
from billing.selectors.months import add_months, this_month
from billing.selectors.recurring import recurring_cost_vs_billed
from billing.selectors.spend import Breakdown, spend_by_month
from portal.htmx import htmx_partial, vary_on_htmx

REPORT_TARGET = "spend-report"


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
