"""Balances: each account's latest balance with its age, threshold and runway, the accounts
that need a top-up soon, and the trend of the last months; admins set thresholds here."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views import View
from django.views.generic import TemplateView

from billing.forms import ThresholdForm
from billing.selectors.balances import (
    WARNING_DAYS,
    balance_trend,
    balances_with_runway,
    needing_attention,
)
from billing.services.thresholds import set_low_balance_threshold
from portal.models import ProviderAccount
from portal.money import shown_amount

THRESHOLD_PERMISSION = "portal.change_provideraccount"


def shown(account: ProviderAccount) -> Decimal | None:
    """The threshold as a person would type it: 50.00, not the stored 50.0000."""
    threshold = account.low_balance_threshold
    return None if threshold is None else shown_amount(threshold)


class BalancesView(PermissionRequiredMixin, TemplateView):
    permission_required = "billing.view_balancesnapshot"
    raise_exception = True
    template_name = "billing/balances.html"

    def get_context_data(self, threshold_form=None, editing=None, **kwargs):
        balances = balances_with_runway()
        can_set = self.request.user.has_perm(THRESHOLD_PERMISSION)
        if can_set and editing is None:
            # ?edit=<account id> opens that account's threshold form (a link, without JS).
            editing = next(
                (b.account for b in balances if str(b.account.pk) == self.request.GET.get("edit")),
                None,
            )
        if editing is not None and threshold_form is None:
            threshold_form = ThresholdForm(initial={"threshold": shown(editing)})
        return super().get_context_data(
            balances=balances,
            attention=needing_attention(balances),
            trends=balance_trend(),
            warning_days=WARNING_DAYS,
            can_set_threshold=can_set,
            editing=editing,
            threshold_form=threshold_form,
            **kwargs,
        )


class ThresholdView(PermissionRequiredMixin, View):
    """Save an account's threshold (a POST from the form on the balances page)."""

    permission_required = THRESHOLD_PERMISSION
    raise_exception = True
    http_method_names = ["post"]

    def post(self, request, account_id):
        account = get_object_or_404(
            ProviderAccount.objects.select_related("provider"), pk=account_id, is_active=True
        )
        form = ThresholdForm(request.POST)
        if not form.is_valid():
            view = BalancesView(request=request, kwargs={})
            context = view.get_context_data(threshold_form=form, editing=account)
            return TemplateResponse(request, BalancesView.template_name, context, status=400)
        threshold = form.cleaned_data["threshold"]
        if set_low_balance_threshold(account, threshold, actor=request.user):
            messages.success(request, f"{account}: low-balance threshold saved.")
        return HttpResponseRedirect(f"{reverse('billing:balances')}#balance-{account.pk}")


urlpatterns = [
    path("balances/", BalancesView.as_view(), name="balances"),
    path("balances/<int:account_id>/threshold/", ThresholdView.as_view(), name="balance_threshold"),
]
