"""The alert history: every alert fired and cleared that the user may see, newest first;
an alert's page with each delivery and its attempts; acknowledging and snoozing it.

Acknowledge and Snooze are plain POST forms that lead back where they were sent from; with
htmx they answer with the alert's state alone (`alert_state`), in the history's row or on
the alert's page."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import date
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from alerts.filters import AlertFilter
from alerts.forms import SnoozeForm
from alerts.models import Alert
from alerts.selectors.alerts import alerts_for_history, deliveries_of
from alerts.services.alerts import acknowledge_alert, snooze_alert
from alerts.tables import AlertTable
from portal.htmx import htmx_partial, vary_on_htmx
from portal.lists import FilteredTableView

DETAIL = "alerts/alert_detail.html"
STATE = "alerts/history.html#alert_state"
DELIVERIES_PER_PAGE = 25


def state_target(alert: Alert) -> str:
    """The id of the element that shows the alert's state (the `alert_state` partial)."""
    return f"alert-{alert.pk}-state"


class AlertHistoryView(FilteredTableView):
    permission_required = "alerts.view_alert"
    model = Alert
    table_class = AlertTable
    filterset_class = AlertFilter
    template_name = "alerts/history.html"

    def get_queryset(self):
        return alerts_for_history(self.request.user)

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        if any(self.request.GET.get(name) for name in AlertFilter.base_filters):
            table.empty_text = "No alerts match these filters."
        else:
            table.empty_text = "No alert has fired: nothing has needed anyone's attention yet."
        return table


class AlertPageMixin(PermissionRequiredMixin):
    """The alert, among those the user may see (any other is not found), and its page."""

    raise_exception = True

    def get_alert(self) -> Alert:
        return get_object_or_404(alerts_for_history(self.request.user), pk=self.kwargs["pk"])

    @vary_on_htmx
    def render_page(self, alert, *, status=200, **extra):
        page = Paginator(deliveries_of(alert), DELIVERIES_PER_PAGE).get_page(
            self.request.GET.get("page")
        )
        context = {
            "alert": alert,
            "record": alert,
            "facts": [
                (name.replace("_", " ").capitalize(), value) for name, value in alert.facts.items()
            ],
            "deliveries": page,
            "next_url": reverse("alerts:detail", args=[alert.pk]),
            **extra,
        }
        return TemplateResponse(self.request, DETAIL, context, status=status)


class AlertDetailView(AlertPageMixin, View):
    permission_required = "alerts.view_alert"

    def get(self, request, pk):
        return self.render_page(self.get_alert())


class AlertActionView(AlertPageMixin, View):
    """A change to the alert's state, by someone who may see it and change alerts."""

    permission_required = "alerts.change_alert"
    http_method_names = ["post"]

    def back(self, alert) -> str:
        back = self.request.POST.get("next", "")
        # A path of this site only: never another site, nor a path relative to this one.
        if back.startswith("/") and url_has_allowed_host_and_scheme(
            back, {self.request.get_host()}, self.request.is_secure()
        ):
            return back
        return reverse("alerts:detail", args=[alert.pk])

    def state(self, alert, **extra):
        """The alert's new state: its partial for htmx, else the page it was sent from."""
        context = {"record": alert, "next_url": self.back(alert), **extra}
        return TemplateResponse(self.request, STATE, context)

    def done(self, alert, note):
        if htmx_partial(self.request, state_target(alert)):
            return self.state(alert, alert_note=note)
        messages.success(self.request, note)
        return HttpResponseRedirect(self.back(alert))

    def refused(self, alert, error: ValidationError):
        problem = " ".join(error.messages)
        if htmx_partial(self.request, state_target(alert)):
            return self.state(alert, alert_problem=problem)
        messages.error(self.request, problem)
        return HttpResponseRedirect(self.back(alert))


class AcknowledgeView(AlertActionView):
    def post(self, request, pk):
        alert = self.get_alert()
        already = alert.acknowledged_at is not None
        try:
            alert = acknowledge_alert(alert=alert, actor=request.user)
        except ValidationError as error:
            return self.refused(alert, error)
        if not already and alert.acknowledged_by_id == request.user.pk:
            note = "Acknowledged: no reminders until it clears and fires again."
        else:
            who = alert.acknowledged_by.get_username() if alert.acknowledged_by else "someone"
            note = f"Already acknowledged by {who}."
        return self.done(alert, note)


class SnoozeView(AlertActionView):
    def post(self, request, pk):
        alert = self.get_alert()
        form = SnoozeForm(request.POST)
        if not form.is_valid():
            if htmx_partial(request, state_target(alert)):
                return self.state(alert, snooze_form=form)
            return self.render_page(alert, snooze_form=form, status=400)
        until = form.cleaned_data["until"]
        try:
            snooze_alert(alert=alert, until=until, actor=request.user)
        except ValidationError as error:
            return self.refused(alert, error)
        shown = date(timezone.localtime(until), "Y-m-d H:i")
        return self.done(alert, f"Snoozed until {shown}: no reminder before then.")


urlpatterns = [
    path("", AlertHistoryView.as_view(), name="history"),
    path("<int:pk>/", AlertDetailView.as_view(), name="detail"),
    path("<int:pk>/acknowledge/", AcknowledgeView.as_view(), name="acknowledge"),
    path("<int:pk>/snooze/", SnoozeView.as_view(), name="snooze"),
]
