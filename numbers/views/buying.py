"""Buying numbers: the search across every account, and the buy confirmation.

The search is a GET form, so its URL reproduces the results; htmx swaps only the search
block and pushes that URL. "Buy" opens the confirmation in a Bootstrap modal filled by
htmx, or as a page of its own without JavaScript; either way the idempotency key is made
when the confirmation opens and posted with it.
"""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.views import View
from django_htmx.http import HttpResponseClientRedirect

from numbers.forms import BuyForm, NumberSearchForm
from numbers.models import NumberOrder
from numbers.selectors import offers, search
from numbers.services import purchase
from portal.htmx import htmx_partial, vary_on_htmx
from portal.providers.phone import format_international

SEARCH_TARGET = "number-search"
DIALOG_TARGET = "buy-dialog-content"


def redirect_to(request, url: str):
    # htmx follows an HX-Redirect with a full page load; a plain form follows a 302.
    return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url)


class NumberSearchView(PermissionRequiredMixin, View):
    permission_required = "numbers.purchase_number"
    raise_exception = True

    @vary_on_htmx
    def get(self, request):
        form = NumberSearchForm(request.GET or None)
        sort = request.GET.get("sort") if request.GET.get("sort") in search.SORTS else "monthly"
        results = None
        if form.is_bound and form.is_valid():
            results = search.search_numbers(form.query(), sort)
        template = "numbers/search.html"
        if htmx_partial(request, SEARCH_TARGET):
            template += "#search"
        return render(
            request,
            template,
            {
                "form": form,
                "results": results,
                "sort": sort,
                "sort_urls": _sort_urls(request),
                "accounts": search.searchable_accounts() if results is None else None,
            },
        )


def _sort_urls(request) -> dict[str, str]:
    """For each price column, the URL that sorts by it: cheapest first, or dearest first
    when it is already sorted cheapest first."""
    current = request.GET.get("sort") or "monthly"
    urls = {}
    for column in ("monthly", "setup"):
        query = request.GET.copy()
        query["sort"] = f"-{column}" if current == column else column
        urls[column] = f"{request.path}?{query.urlencode()}"
    return urls


class BuyView(PermissionRequiredMixin, View):
    """GET: the confirmation, with a new idempotency key. POST: the purchase."""

    permission_required = "numbers.purchase_number"
    raise_exception = True

    def get(self, request):
        token = request.GET.get("offer", "")
        try:
            account, available = offers.offer_from_token(token)
        except offers.OfferExpired as exc:
            return render_buy_dialog(
                request, {"offer_error": f"{exc} Search again to buy a number."}, 400
            )
        form = BuyForm(initial={"offer": token, "idempotency_key": purchase.new_idempotency_key()})
        preview = offers.preview_purchase(account, available)
        return render_buy_dialog(
            request, {"form": form, "account": account, "offer": available, "preview": preview}
        )

    def post(self, request):
        form = BuyForm(request.POST)
        if not form.is_valid():
            if "offer" in form.errors:
                return render_buy_dialog(request, {"offer_error": form.errors["offer"][0]}, 400)
            context = {"form": form, "account": form.account, "offer": form.available}
            return render_buy_dialog(request, context, 400)
        try:
            order = purchase.purchase_number(
                account=form.account,
                available=form.available,
                idempotency_key=form.cleaned_data["idempotency_key"],
                label=form.cleaned_data["label"].strip(),
                actor=request.user,
            )
        except purchase.OrderInProgress as exc:
            context = {"account": form.account, "offer": form.available, "busy": str(exc)}
            return render_buy_dialog(request, context)
        except purchase.InvalidOfferNumber as exc:
            # Shown like any offer that cannot be bought, under the number it names.
            context = {"offer": form.available, "offer_error": f"{exc} Nothing was bought."}
            return render_buy_dialog(request, context, 400)
        return order_outcome(request, order, form.available)


def order_outcome(request, order: NumberOrder, offer=None):
    """Where an order leaves the user: on the number's page once it is owned, else in the
    dialog (or page) that says what happened and what to do next."""
    if order.state == NumberOrder.State.COMPLETED:
        messages.success(
            request,
            f"Bought {format_international(order.number)} on {order.account.provider.name} "
            f"· {order.account.name}.",
        )
        return redirect_to(request, order.phone_number.get_absolute_url())
    return render_buy_dialog(request, {"order": order, "account": order.account, "offer": offer})


@vary_on_htmx
def render_buy_dialog(request, context: dict, status: int = 200):
    """The confirmation: the dialog's content for htmx, else a page of its own. htmx swaps
    only 2xx answers, so a refusal it must show comes with 200."""
    number = context.get("offer") or context.get("order")
    context["shown_number"] = format_international(number.number) if number else ""
    if htmx_partial(request, DIALOG_TARGET):
        return render(request, "numbers/search.html#buy_dialog", {**context, "in_dialog": True})
    return render(request, "numbers/buy.html", context, status=status)


urlpatterns = [
    path("buy/", NumberSearchView.as_view(), name="search"),
    path("buy/confirm/", BuyView.as_view(), name="buy"),
]
