"""Recent number orders, filterable, and "Check again" for those the upstream left unknown."""

import django_filters
import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import date
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django_filters.views import FilterView
from django_tables2 import LazyPaginator, SingleTableMixin

from numbers import buying
from numbers.models import NumberOrder
from numbers.views.buying import (
    DIALOG_TARGET,
    order_outcome,
    redirect_to,
    render_buy_dialog,
)
from portal.forms import style_filter_form
from portal.htmx import HtmxTableMixin, htmx_partial
from portal.models import ProviderAccount
from portal.providers.errors import UpstreamError
from portal.providers.phone import format_international
from portal.tables import BoundedPagination
from portal.templatetags.portal_tags import money


class NumberOrderFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=NumberOrder.State.choices, empty_label="Any state")
    account = django_filters.ModelChoiceFilter(
        queryset=ProviderAccount.objects.select_related("provider"), empty_label="All accounts"
    )

    class Meta:
        model = NumberOrder
        fields = ["state", "account"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_filter_form(self.form)


class NumberOrderTable(BoundedPagination, tables.Table):
    created_at = tables.DateTimeColumn(
        verbose_name="When", attrs={"td": {"class": "text-nowrap"}}, format="Y-m-d H:i"
    )
    number = tables.Column(attrs={"td": {"class": "text-nowrap"}})
    account = tables.Column(
        accessor="account__name",
        verbose_name="Account",
        order_by=("account__name", "-created_at"),
        attrs={
            "th": {"class": "d-none d-md-table-cell"},
            "td": {"class": "d-none d-md-table-cell"},
        },
    )
    state = tables.TemplateColumn(template_name="numbers/orders.html#order_state")
    price = tables.Column(
        verbose_name="Price",
        accessor="monthly_fee",
        attrs={"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}},
    )
    error_message = tables.Column(
        verbose_name="Details", orderable=False, attrs={"td": {"class": "order-details small"}}
    )

    class Meta:
        model = NumberOrder
        # Number and state first: on a phone they are what shows without scrolling.
        fields = ("number", "state", "created_at", "account", "price", "error_message")
        order_by = "-created_at"
        empty_text = "No orders match these filters."

    def render_created_at(self, record, value):
        who = record.requested_by.get_username() if record.requested_by else "system"
        return format_html(
            '{}<div class="small text-body-secondary">by {}</div>',
            date(timezone.localtime(value), "Y-m-d H:i"),
            who,
        )

    def render_number(self, record):
        shown = format_international(record.number)
        if record.phone_number_id and record.state == NumberOrder.State.COMPLETED:
            shown = format_html(
                '<a href="{}">{}</a>', record.phone_number.get_absolute_url(), shown
            )
        return format_html(
            '<span class="font-monospace">{}</span>'
            '<div class="small text-body-secondary d-md-none">{} · {}</div>',
            shown,
            record.account.provider.name,
            record.account.name,
        )

    def render_account(self, record):
        return format_html(
            '{}<div class="small text-body-secondary">{}</div>',
            record.account.name,
            record.account.provider.name,
        )

    def render_price(self, record):
        return format_html(
            '{} <span class="text-body-secondary">/ month</span>'
            '<div class="small text-body-secondary">setup {}</div>',
            money(record.monthly_fee, record.currency),
            money(record.setup_fee, record.currency),
        )


class NumberOrderListView(PermissionRequiredMixin, HtmxTableMixin, SingleTableMixin, FilterView):
    permission_required = "numbers.view_numberorder"
    raise_exception = True
    model = NumberOrder
    table_class = NumberOrderTable
    filterset_class = NumberOrderFilter
    template_name = "numbers/orders.html"
    paginator_class = LazyPaginator
    table_pagination = {"per_page": 50}

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
            order = buying.reconcile_order(order, user=request.user)
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
