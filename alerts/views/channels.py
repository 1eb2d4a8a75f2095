"""Alert channels (/alerts/channels/), for admins: the webhook endpoints alerts are POSTed to,
added and edited here, each with "Send a test".

A channel's secret is write-only: the portal generates it, and the page that answers its
creation (or a rotation) shows it that one time, never cached; no other page, message or log
line holds it. Without JavaScript every action is a plain form; with it, "Send a test"
swaps the channel's card with its outcome (htmx).
"""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.views import View
from django.views.generic import TemplateView

from alerts.forms import ChannelActionForm, WebhookEndpointForm
from alerts.models import Delivery, WebhookEndpoint
from alerts.selectors.webhooks import webhook_channel, webhook_channels
from alerts.services.webhooks import (
    NoRuleToTest,
    create_webhook,
    delete_webhook,
    rotate_webhook_secret,
    send_test,
    set_webhook_active,
    update_webhook,
)
from portal.htmx import htmx_partial, vary_on_htmx

LIST = "alerts/channels.html"
CARD = "alerts/channels.html#channel"
FORM = "alerts/channel_form.html"
SHOWN_ONCE = "alerts/channel_secret.html"


def _list_url(endpoint=None, tested: Delivery | None = None) -> str:
    url = reverse("alerts:channels")
    if tested is not None:
        url += f"?tested={tested.pk}"
    return f"{url}#channel-{endpoint.pk}" if endpoint is not None else url


def _tested_delivery(request) -> Delivery | None:
    """The test the page was sent back with (?tested=<delivery id>), shown on its card."""
    raw = request.GET.get("tested", "")
    if not raw.isdigit():
        return None
    return (
        Delivery.objects.filter(pk=int(raw), channel=Delivery.Channel.WEBHOOK)
        .exclude(webhook=None)
        .first()
    )


class ChannelsView(PermissionRequiredMixin, TemplateView):
    permission_required = "alerts.view_webhookendpoint"
    raise_exception = True
    template_name = LIST

    def get_context_data(self, **kwargs):
        page = webhook_channels(page_number=self.request.GET.get("page"))
        return super().get_context_data(
            page=page, channels=page.object_list, tested=_tested_delivery(self.request), **kwargs
        )


def _secret_page(request, endpoint, secret, *, created):
    """The one page that shows a secret: answered to the POST that made it, never cached,
    never a redirect (the secret is in no URL, session or message)."""
    response = TemplateResponse(
        request, SHOWN_ONCE, {"endpoint": endpoint, "secret": secret, "created": created}
    )
    add_never_cache_headers(response)
    return response


def _form_page(request, form, endpoint=None, *, status=200, action_form=None):
    return TemplateResponse(
        request,
        FORM,
        {"form": form, "endpoint": endpoint, "action_form": action_form},
        status=status,
    )


class ChannelAddView(PermissionRequiredMixin, View):
    permission_required = "alerts.add_webhookendpoint"
    raise_exception = True

    def get(self, request):
        return _form_page(request, WebhookEndpointForm(initial={"is_active": True}))

    def post(self, request):
        form = WebhookEndpointForm(request.POST)
        if not form.is_valid():
            return _form_page(request, form, status=400)
        endpoint, secret = create_webhook(**form.cleaned_data, actor=request.user)
        return _secret_page(request, endpoint, secret, created=True)


class ChannelEditView(PermissionRequiredMixin, View):
    permission_required = "alerts.change_webhookendpoint"
    raise_exception = True

    def get(self, request, pk):
        endpoint = get_object_or_404(WebhookEndpoint.objects.defer("secret"), pk=pk)
        return _form_page(request, WebhookEndpointForm(instance=endpoint), endpoint)

    def post(self, request, pk):
        endpoint = get_object_or_404(WebhookEndpoint.objects.defer("secret"), pk=pk)
        form = WebhookEndpointForm(request.POST, instance=endpoint)
        if not form.is_valid():
            return _form_page(request, form, endpoint, status=400)
        # The form has put its values on the instance; the service audits against the row.
        stored = WebhookEndpoint.objects.defer("secret").get(pk=pk)
        if update_webhook(endpoint=stored, **form.cleaned_data, actor=request.user):
            messages.success(request, f"{stored.name}: saved.")
        return HttpResponseRedirect(_list_url(stored))


class ChannelRotateView(PermissionRequiredMixin, View):
    """A new secret (POST from the channel's page); the old one stops working at once."""

    permission_required = "alerts.change_webhookendpoint"
    raise_exception = True
    http_method_names = ["post"]

    def post(self, request, pk):
        endpoint = get_object_or_404(WebhookEndpoint.objects.defer("secret"), pk=pk)
        secret = rotate_webhook_secret(endpoint=endpoint, actor=request.user)
        return _secret_page(request, endpoint, secret, created=False)


class ChannelRemoveView(PermissionRequiredMixin, View):
    """Disable, enable or delete a channel (POST from the confirmation on its page)."""

    permission_required = "alerts.change_webhookendpoint"
    raise_exception = True
    http_method_names = ["post"]

    def post(self, request, pk):
        endpoint = get_object_or_404(WebhookEndpoint.objects.defer("secret"), pk=pk)
        action_form = ChannelActionForm(request.POST)
        if not action_form.is_valid():
            form = WebhookEndpointForm(instance=endpoint)
            return _form_page(request, form, endpoint, status=400, action_form=action_form)
        action = action_form.cleaned_data["action"]
        if action == "delete":
            if not request.user.has_perm("alerts.delete_webhookendpoint"):
                raise PermissionDenied
            name = endpoint.name
            delete_webhook(endpoint=endpoint, actor=request.user)
            messages.success(request, f"{name}: deleted. Its deliveries stay in the history.")
            return HttpResponseRedirect(_list_url())
        active = action == "enable"
        if set_webhook_active(endpoint=endpoint, active=active, actor=request.user):
            messages.success(request, f"{endpoint.name}: {'enabled' if active else 'disabled'}.")
        return HttpResponseRedirect(_list_url(endpoint))


class ChannelTestView(PermissionRequiredMixin, View):
    """Send the channel a test now and show how it went: on its card (htmx), or on the
    list the browser is sent back to."""

    permission_required = "alerts.change_webhookendpoint"
    raise_exception = True
    http_method_names = ["post"]

    @vary_on_htmx
    def post(self, request, pk):
        endpoint = get_object_or_404(WebhookEndpoint.objects.defer("secret"), pk=pk)
        try:
            tested = send_test(endpoint=endpoint, actor=request.user)
        except NoRuleToTest as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(_list_url(endpoint))
        if htmx_partial(request, f"channel-{endpoint.pk}"):
            channel = webhook_channel(pk=endpoint.pk)
            return TemplateResponse(request, CARD, {"channel": channel, "tested": tested})
        return HttpResponseRedirect(_list_url(endpoint, tested))


urlpatterns = [
    path("channels/", ChannelsView.as_view(), name="channels"),
    path("channels/add/", ChannelAddView.as_view(), name="channel_add"),
    path("channels/<int:pk>/", ChannelEditView.as_view(), name="channel_edit"),
    path("channels/<int:pk>/rotate/", ChannelRotateView.as_view(), name="channel_rotate"),
    path("channels/<int:pk>/remove/", ChannelRemoveView.as_view(), name="channel_remove"),
    path("channels/<int:pk>/test/", ChannelTestView.as_view(), name="channel_test"),
]
