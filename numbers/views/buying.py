"""Buying numbers: the search across every account, and the buy confirmation.

The search is a GET form, so its URL reproduces the results; htmx swaps only the search
block and pushes that URL. "Buy" opens the confirmation in a Bootstrap modal filled by
htmx, or as a page of its own without JavaScript; either way the idempotency key is made
when the confirmation opens and posted with it.
"""

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.views import View
from django_htmx.http import HttpResponseClientRedirect

from numbers import buying
from numbers.models import NumberOrder, PhoneNumber
from portal.htmx import htmx_partial, vary_on_htmx
from portal.providers.base import NUMBER_CAPABILITIES, SearchQuery
from portal.providers.phone import country_choices, format_international

SEARCH_TARGET = "number-search"
DIALOG_TARGET = "buy-dialog-content"


# What the area field takes: an area code (digits; spaces, brackets and dashes dropped),
# or a region by code or name (letters, words joined by spaces, dots, dashes, apostrophes).
AREA_CODE_FORMATTING = re.compile(r"[\s()-]")
AREA_CODE = re.compile(r"[0-9]{1,8}")
REGION = re.compile(r"[^\W\d_]+(?:[ .'\u2019-]+[^\W\d_]+)*\.?")


class NumberSearchForm(forms.Form):
    country = forms.ChoiceField(choices=country_choices, initial="US")
    area = forms.CharField(
        label="Region or area code",
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "e.g. CA or 415"}),
    )
    contains = forms.CharField(
        label="Digits contained",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"placeholder": "e.g. 555", "inputmode": "numeric"}),
    )
    number_type = forms.ChoiceField(
        label="Type",
        required=False,
        choices=[
            ("", "Any type"),
            *[(value, label) for value, label in PhoneNumber.Type.choices if value != "unknown"],
        ],
    )
    capabilities = forms.MultipleChoiceField(
        required=False,
        choices=[(name, name.upper()) for name in NUMBER_CAPABILITIES],
        widget=forms.CheckboxSelectMultiple,
    )
    # The results' order, kept across searches; an unknown one is the default order (as the
    # view reads it), not an error the hidden field could never show.
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.widget.is_hidden:
                continue
            if isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select"
            elif name == "capabilities":
                field.widget.attrs["class"] = "form-check-input"
            else:
                field.widget.attrs["class"] = "form-control"
        self.fields["area"].widget.attrs["autocomplete"] = "off"
        self.fields["contains"].widget.attrs["autocomplete"] = "off"

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    def clean_sort(self):
        sort = self.cleaned_data["sort"]
        return sort if sort in buying.SORTS else ""

    def clean_area(self):
        """Checked here, so that what no provider could match never reaches them (each
        answered "bad pattern" for `abc!`)."""
        area = self.cleaned_data["area"].strip()
        digits = AREA_CODE_FORMATTING.sub("", area)
        if not area or AREA_CODE.fullmatch(digits):
            return digits
        if REGION.fullmatch(area):
            return area
        raise forms.ValidationError(
            "Enter an area code (digits, e.g. 415) or a region (letters, e.g. CA or Karnataka)."
        )

    def clean_contains(self):
        # Digits in any format: "415 555", "(415)" and "415-555" all mean the digits.
        value = self.cleaned_data["contains"]
        digits = "".join(character for character in value if character.isdigit())
        if value.strip() and not digits:
            raise forms.ValidationError("Enter digits, e.g. 555 or 415 555.")
        return digits

    def query(self) -> SearchQuery:
        data = self.cleaned_data
        return SearchQuery(
            country=data["country"],
            area=data["area"].strip(),
            contains=data["contains"],
            number_type=data["number_type"],
            capabilities=frozenset(data["capabilities"]),
        )


class BuyForm(forms.Form):
    offer = forms.CharField(widget=forms.HiddenInput)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    label = forms.CharField(
        required=False,
        max_length=255,
        help_text="How staff will recognise this number: a customer, a line, a team.",
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )

    def clean_offer(self):
        try:
            self.account, self.available = buying.offer_from_token(self.cleaned_data["offer"])
        except buying.OfferExpired as exc:
            raise forms.ValidationError(f"{exc} Search again to buy a number.") from exc
        return self.cleaned_data["offer"]


def redirect_to(request, url: str):
    # htmx follows an HX-Redirect with a full page load; a plain form follows a 302.
    return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url)


class NumberSearchView(PermissionRequiredMixin, View):
    permission_required = "numbers.purchase_number"
    raise_exception = True

    @vary_on_htmx
    def get(self, request):
        form = NumberSearchForm(request.GET or None)
        sort = request.GET.get("sort") if request.GET.get("sort") in buying.SORTS else "monthly"
        results = None
        if form.is_bound and form.is_valid():
            results = buying.search_numbers(form.query(), sort)
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
                "accounts": buying.searchable_accounts() if results is None else None,
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
            account, available = buying.offer_from_token(token)
        except buying.OfferExpired as exc:
            return render_buy_dialog(
                request, {"offer_error": f"{exc} Search again to buy a number."}, 400
            )
        form = BuyForm(initial={"offer": token, "idempotency_key": buying.new_idempotency_key()})
        preview = buying.preview_purchase(account, available)
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
            order = buying.purchase_number(
                account=form.account,
                available=form.available,
                idempotency_key=form.cleaned_data["idempotency_key"],
                label=form.cleaned_data["label"].strip(),
                user=request.user,
            )
        except buying.OrderInProgress as exc:
            context = {"account": form.account, "offer": form.available, "busy": str(exc)}
            return render_buy_dialog(request, context)
        except buying.InvalidOfferNumber as exc:
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
