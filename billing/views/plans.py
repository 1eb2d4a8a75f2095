"""Service plans: the plans on each account with their number rates (Audian offers them)."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.urls import path
from django.views.generic import TemplateView

from billing.selectors.plans import service_plans_by_account


class ServicePlansView(PermissionRequiredMixin, TemplateView):
    permission_required = "billing.view_serviceplan"
    raise_exception = True
    template_name = "billing/plans.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(accounts=service_plans_by_account(), **kwargs)


urlpatterns = [path("plans/", ServicePlansView.as_view(), name="plans")]
