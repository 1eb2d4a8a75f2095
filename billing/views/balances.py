"""Balances: each account's latest balance with its age, threshold and runway, the accounts
that need a top-up soon, and the trend of the last months; admins set each account's
low-balance threshold and monthly budget here (what the balance and spend alerts watch)."""

from collections.abc import Callable
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views import View
from django.views.generic import TemplateView

from billing.forms import BudgetForm, ThresholdForm
from billing.selectors.balances import (
    WARNING_DAYS,
    balance_trend,
    balances_with_runway,
    needing_attention,
)
from billing.services.thresholds import set_low_balance_threshold, set_monthly_budget
from portal.models import ProviderAccount
from portal.money import shown_amount

THRESHOLD_PERMISSION = "portal.change_provideraccount"


def shown(amount: Decimal | None) -> Decimal | None:
    """An amount as a person would type it: 50.00, not the stored 50.0000."""
    return None if amount is None else shown_amount(amount)


class BalancesView(PermissionRequiredMixin, TemplateView):
    permission_required = "billing.view_balancesnapshot"
    raise_exception = True
    template_name = "billing/balances.html"

    def get_context_data(self, threshold_form=None, budget_form=None, editing=None, **kwargs):
        balances = balances_with_runway()
        can_set = self.request.user.has_perm(THRESHOLD_PERMISSION)
        if can_set and editing is None:
            # ?edit=<account id> opens that account's forms (a link, without JS).
            editing = next(
                (b.account for b in balances if str(b.account.pk) == self.request.GET.get("edit")),
                None,
            )
        if editing is not None:
            if threshold_form is None:
                threshold_form = ThresholdForm(
                    initial={"threshold": shown(editing.low_balance_threshold)}
                )
            if budget_form is None:
                budget_form = BudgetForm(initial={"budget": shown(editing.monthly_budget)})
        return super().get_context_data(
            balances=balances,
            attention=needing_attention(balances),
            trends=balance_trend(),
            warning_days=WARNING_DAYS,
            can_set_threshold=can_set,
            editing=editing,
            threshold_form=threshold_form,
            budget_form=budget_form,
            **kwargs,
        )


class AccountAmountView(PermissionRequiredMixin, View):
    """Save one of an account's amounts (a POST from its form on the balances page)."""

    permission_required = THRESHOLD_PERMISSION
    raise_exception = True
    http_method_names = ["post"]
    form_class: type
    form_name: str  # the form's name in the page's context, and its field's name
    saved: str
    set_amount: Callable[..., bool]  # the service: (account, amount, *, actor) -> changed

    def post(self, request, account_id):
        account = get_object_or_404(
            ProviderAccount.objects.select_related("provider"), pk=account_id, is_active=True
        )
        form = self.form_class(request.POST)
        if not form.is_valid():
            view = BalancesView(request=request, kwargs={})
            context = view.get_context_data(editing=account, **{f"{self.form_name}_form": form})
            return TemplateResponse(request, BalancesView.template_name, context, status=400)
        if self.set_amount(account, form.cleaned_data[self.form_name], actor=request.user):
            messages.success(request, f"{account}: {self.saved} saved.")
        return HttpResponseRedirect(f"{reverse('billing:balances')}#balance-{account.pk}")


class ThresholdView(AccountAmountView):
    form_class = ThresholdForm
    form_name = "threshold"
    saved = "low-balance threshold"
    set_amount = staticmethod(set_low_balance_threshold)


class BudgetView(AccountAmountView):
    form_class = BudgetForm
    form_name = "budget"
    saved = "monthly budget"
    set_amount = staticmethod(set_monthly_budget)


urlpatterns = [
    path("balances/", BalancesView.as_view(), name="balances"),
    path("balances/<int:account_id>/threshold/", ThresholdView.as_view(), name="balance_threshold"),
    path("balances/<int:account_id>/budget/", BudgetView.as_view(), name="balance_budget"),
]
