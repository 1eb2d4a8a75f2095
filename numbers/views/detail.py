"""A number's page: every field, its usage, orders, transactions and history, the inline label
edit and the release. Without JavaScript the edit and the release are plain forms on the
page; with htmx the label edit swaps only its own part of the page."""

from contextlib import contextmanager

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.module_loading import import_string
from django.views import View

from numbers.fees import fee_hint
from numbers.forms import LabelForm, ReleaseForm
from numbers.models import NumberOrder, PhoneNumber
from numbers.selectors.history import number_history
from numbers.selectors.usage import number_usage
from numbers.services.labels import labels_stored_upstream, set_label
from numbers.services.release import release_number
from portal.htmx import htmx_partial, vary_on_htmx
from portal.providers.errors import (
    AmbiguousResult,
    AuthenticationFailed,
    NotFound,
    NumberUnavailable,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)

TEMPLATE = "numbers/number_detail.html"
# The element the inline label edit swaps (the page's `label` partial).
LABEL_TARGET = "label"


def upstream_problem(error: UpstreamError, action: str, unchanged: str) -> str:
    """What an upstream failure means to the person who asked for `action`, and that
    `unchanged` (nothing was lost)."""
    provider = error.provider or "The provider"
    if isinstance(error, AmbiguousResult):
        return (
            f"{provider} did not confirm the {action}: it may have happened there. "
            "The next sync will show it."
        )
    if isinstance(error, UpstreamUnavailable | RateLimited):
        reason = f"{provider} is not answering right now ({error.message})."
        return f"{reason} {unchanged} Try again in a minute."
    if isinstance(error, NotFound | NumberUnavailable):
        reason = f"{provider} does not list this number on the account any more."
        return f"{reason} {unchanged} The next sync will bring the portal up to date."
    if isinstance(error, AuthenticationFailed):
        reason = f"{provider} refused the account's credentials."
        return f"{reason} {unchanged} An administrator needs to check them."
    return f"{provider} refused the {action}: {error.message}. {unchanged}"


@contextmanager
def change_errors_on(form, action: str, unchanged: str):
    """Around a change of the number: where it is refused (ValidationError) or the upstream
    fails, why goes on `form` as a non-field error (upstream_problem) and the block ends."""
    try:
        yield
    except ValidationError as error:
        form.add_error(None, error)
    except UpstreamError as error:
        form.add_error(None, upstream_problem(error, action, unchanged))


def detail_panels(request, phone_number):
    """Panels other apps add to the page (settings.NUMBER_DETAIL_PANELS), those the user
    may see: `numbers` shows billing data without importing `billing`."""
    panels = (import_string(name)(request, phone_number) for name in settings.NUMBER_DETAIL_PANELS)
    return [panel for panel in panels if panel is not None]


class NumberPageMixin(PermissionRequiredMixin):
    """Loads the number and renders its page, whole or one partial of it."""

    raise_exception = True

    def get_number(self) -> PhoneNumber:
        orders = NumberOrder.objects.select_related("requested_by").order_by("-created_at")
        numbers = PhoneNumber.objects.select_related("provider", "account__provider")
        return get_object_or_404(
            numbers.prefetch_related("tags", Prefetch("orders", queryset=orders)),
            pk=self.kwargs["pk"],
        )

    def context(self, phone_number, **extra):
        user = self.request.user
        live = phone_number.status != PhoneNumber.Status.RELEASED
        return {
            "phone_number": phone_number,
            "fee_hints": {fee: fee_hint(phone_number, fee) for fee in ("monthly_fee", "setup_fee")},
            "labels_at_provider": labels_stored_upstream(phone_number),
            "can_label": live and user.has_perm("numbers.label_number"),
            "can_release": live and user.has_perm("numbers.release_number"),
            **extra,
        }

    def render_page(self, phone_number, **extra):
        context = self.context(
            phone_number,
            history=number_history(phone_number),
            usage=number_usage(phone_number),
            panels=detail_panels(self.request, phone_number),
            **extra,
        )
        return self.respond_with(TEMPLATE, context)

    def render_partial(self, name, phone_number, **extra):
        return self.respond_with(f"{TEMPLATE}#{name}", self.context(phone_number, **extra))

    @vary_on_htmx
    def respond_with(self, template, context):
        return TemplateResponse(self.request, template, context)


class PhoneNumberDetailView(NumberPageMixin, View):
    permission_required = "numbers.view_phonenumber"

    def get(self, request, pk):
        phone_number = self.get_number()
        if htmx_partial(request, LABEL_TARGET):  # an inline edit was cancelled
            return self.render_partial("label", phone_number)
        return self.render_page(phone_number)


class LabelView(NumberPageMixin, View):
    """GET: the edit form in place of the label. POST: save it, upstream where the
    provider keeps labels."""

    permission_required = "numbers.label_number"

    def get(self, request, pk):
        phone_number = self.get_number()
        if phone_number.status == PhoneNumber.Status.RELEASED:
            return redirect(phone_number)
        form = LabelForm(initial={"label": phone_number.display_label})
        return self.respond(phone_number, form)

    def post(self, request, pk):
        phone_number = self.get_number()
        form = LabelForm(request.POST)
        if form.is_valid():
            with change_errors_on(form, "label change", "The label is unchanged."):
                change = set_label(phone_number, form.cleaned_data["label"], actor=request.user)
                return self.saved(phone_number, change)
        return self.respond(phone_number, form)

    def respond(self, phone_number, form):
        if htmx_partial(self.request, LABEL_TARGET):
            return self.render_partial("label", phone_number, label_form=form)
        return self.render_page(phone_number, label_form=form)

    def saved(self, phone_number, change):
        provider = phone_number.provider.name
        if not change.changed:
            note = "The label is unchanged."
        elif change.at_provider:
            note = f"Label saved, at {provider} too."
        else:
            note = f"Label saved in the portal only: {provider} has no labels the portal can set."
        if htmx_partial(self.request, LABEL_TARGET):
            return self.render_partial(
                "label_saved", phone_number, label_note=note, history=number_history(phone_number)
            )
        messages.success(self.request, note)
        return redirect(phone_number)


class ReleaseView(NumberPageMixin, View):
    """GET: the page with the release confirmation open. POST: release it once the typed
    number matches."""

    permission_required = "numbers.release_number"

    def get(self, request, pk):
        phone_number = self.get_number()
        if phone_number.status == PhoneNumber.Status.RELEASED:
            return redirect(phone_number)
        return self.render_page(phone_number, release_form=ReleaseForm(phone_number=phone_number))

    def post(self, request, pk):
        phone_number = self.get_number()
        form = ReleaseForm(request.POST, phone_number=phone_number)
        if form.is_valid():
            with change_errors_on(form, "release", "The number is still held."):
                release_number(phone_number, actor=request.user)
                messages.success(
                    request,
                    f"{phone_number.display_number} is released at {phone_number.provider.name}.",
                )
                return redirect(phone_number)
        return self.render_page(phone_number, release_form=form)


urlpatterns = [
    path("<int:pk>/", PhoneNumberDetailView.as_view(), name="detail"),
    path("<int:pk>/label/", LabelView.as_view(), name="label"),
    path("<int:pk>/release/", ReleaseView.as_view(), name="release"),
]
