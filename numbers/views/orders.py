"""Recent number orders, filterable, and "Check again" for those the upstream left unknown."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from numbers.filters import NumberOrderFilter
from numbers.models import NumberOrder
from numbers.services import reconcile
from numbers.tables import NumberOrderTable
from numbers.views.buying import (
    DIALOG_TARGET,
    order_outcome,
    redirect_to,
    render_buy_dialog,
)
from portal.htmx import htmx_partial
from portal.lists import FilteredTableView
from portal.providers.errors import UpstreamError
from portal.providers.phone import format_international


class NumberOrderListView(FilteredTableView):
    permission_required = "numbers.view_numberorder"
    model = NumberOrder
    table_class = NumberOrderTable
    filterset_class = NumberOrderFilter
    template_name = "numbers/orders.html"

    def get_queryset(self):
        return NumberOrder.objects.select_related(
            "account__provider", "requested_by", "phone_number"
        )


class OrderCheckView(PermissionRequiredMixin, View):
    """Settle an unknown order now by reading the upstream ("Check again")."""

    permission_required = "numbers.purchase_number"
    raise_exception = True
    http_method_names = ["post"]

    def post(self, request, pk):
        order = get_object_or_404(
            NumberOrder.objects.select_related("account__provider", "phone_number"), pk=pk
        )
        try:
            order = reconcile.reconcile_order(order, actor=request.user)
        except UpstreamError as exc:
            problem = f"Could not check the order: {exc}. It stays unknown; try again later."
            if htmx_partial(request, DIALOG_TARGET):
                context = {"order": order, "account": order.account, "check_error": problem}
                return render_buy_dialog(request, context)
            messages.error(request, problem)
            return redirect_to(request, self._back(request))
        if order.state == NumberOrder.State.COMPLETED or htmx_partial(request, DIALOG_TARGET):
            return order_outcome(request, order)
        if order.state == NumberOrder.State.FAILED:
            messages.warning(
                request, f"{format_international(order.number)}: {order.error_message}"
            )
        else:
            messages.info(request, f"{format_international(order.number)}: {order.error_message}")
        return redirect_to(request, self._back(request))

    def _back(self, request) -> str:
        back = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            return back
        return reverse("numbers:orders")


urlpatterns = [
    path("orders/", NumberOrderListView.as_view(), name="orders"),
    path("orders/<int:pk>/check/", OrderCheckView.as_view(), name="order_check"),
]
