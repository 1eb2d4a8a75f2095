"""The webhook channels as the channels page lists them: each with the rules it receives and
its latest delivery (its state and last attempt)."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, Prefetch, Subquery

from alerts.models import Delivery, DeliveryAttempt, Rule, WebhookEndpoint

PER_PAGE = 25


def with_latest_delivery(endpoints: list[WebhookEndpoint]) -> list[WebhookEndpoint]:
    """Sets `latest_delivery` (None if it never had one) and `latest_attempt` on each, in
    two queries for all of them."""
    ids = [endpoint.latest_delivery_id for endpoint in endpoints if endpoint.latest_delivery_id]
    deliveries = Delivery.objects.in_bulk(ids)
    attempts = {}
    for attempt in DeliveryAttempt.objects.filter(delivery__in=ids).order_by("at", "pk"):
        attempts[attempt.delivery_id] = attempt  # the last one wins
    for endpoint in endpoints:
        endpoint.latest_delivery = deliveries.get(endpoint.latest_delivery_id)
        endpoint.latest_attempt = attempts.get(endpoint.latest_delivery_id)
    return endpoints


def _channels():
    latest = (
        Delivery.objects.filter(webhook=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        .values("pk")[:1]
    )
    return (
        WebhookEndpoint.objects.defer("secret")
        .prefetch_related(Prefetch("rules", queryset=Rule.objects.order_by("kind", "name")))
        .annotate(latest_delivery_id=Subquery(latest))
        .order_by("name", "pk")
    )


def webhook_channels(*, page_number=1) -> Page:
    """One page of the channels, by name (a page number out of range gives the last)."""
    page = Paginator(_channels(), PER_PAGE).get_page(page_number)
    page.object_list = with_latest_delivery(list(page.object_list))
    return page


def webhook_channel(*, pk: int) -> WebhookEndpoint:
    """One channel as the page shows it (WebhookEndpoint.DoesNotExist if there is none)."""
    return with_latest_delivery([_channels().get(pk=pk)])[0]
