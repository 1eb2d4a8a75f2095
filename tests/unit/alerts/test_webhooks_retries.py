"""A webhook whose receiver fails is tried again after the waits of ALERT_RETRY_DELAYS, each
attempt logged, and delivered exactly once when the receiver recovers: through the task
workers (`db_worker`, as production runs it) and attempt by attempt on a clock."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from alerts.models import Delivery, Rule
from alerts.services.delivery import attempt_delivery
from alerts.tasks import queue_delivery
from tests.support.factories import (
    AlertFactory,
    DeliveryFactory,
    UserFactory,
    WebhookEndpointFactory,
)
from tests.support.receivers import WebhookReceiver, verify

SECRET = "whsec_retries_Zq81mXc4Lp0aB7nV2kT9yR5u"


@pytest.fixture
def receiver():
    with WebhookReceiver() as receiver:
        yield receiver


def webhook_delivery(receiver):
    rule = Rule.objects.get(name="Balance below threshold")
    alert = AlertFactory(rule=rule)
    webhook = WebhookEndpointFactory(url=receiver.url, secret=SECRET)
    webhook.rules.add(rule)
    return DeliveryFactory(
        alert=alert, channel=Delivery.Channel.WEBHOOK, recipient=None, address="", webhook=webhook
    )


def assert_delivered_once_after_three_failures(receiver, delivery):
    """The receiver got four requests for the delivery, each signed, and accepted the last;
    the delivery is sent, with its four attempts logged."""
    assert [request.answered for request in receiver.requests] == [503, 503, 503, 200]
    assert len(receiver.accepted()) == 1
    # The same delivery each time (receivers deduplicate on it), each signed afresh.
    assert {request.header("X-Portal-Delivery") for request in receiver.requests} == {
        str(delivery.pk)
    }
    assert all(verify(request, SECRET) for request in receiver.requests)

    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT
    assert delivery.attempts == 4
    assert delivery.sent_at is not None
    assert delivery.next_attempt_at is None
    attempts = list(delivery.attempt_log.order_by("at", "pk"))
    assert [(a.ok, a.status_code) for a in attempts] == [
        (False, 503),
        (False, 503),
        (False, 503),
        (True, 200),
    ]
    assert [a.excerpt for a in attempts] == [
        *["503 Service Unavailable: status 503 from the test receiver"] * 3,
        "ok",
    ]
    assert all(a.duration_ms is not None for a in attempts)
    times = [a.at for a in attempts]
    assert times == sorted(times)


def assert_attempts_on_the_alerts_page(delivery, client):
    """The alert's page (reached from the history) lists the four attempts, as logged."""
    client.force_login(UserFactory(username="history-admin", is_staff=True, is_superuser=True))
    html = client.get(reverse("alerts:detail", args=[delivery.alert_id])).content.decode()
    attempts = html[html.index('data-testid="attempts"') :]
    assert attempts.count('data-testid="attempt"') == 4
    assert attempts.count(">Failed</span>") == 3
    assert attempts.count(">OK</span>") == 1
    assert "503 Service Unavailable" in attempts


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_workers_retry_until_the_receiver_recovers_and_deliver_once(receiver, settings, client):
    settings.ALERT_RETRY_DELAYS = [timedelta(milliseconds=1)] * 5
    receiver.answer(503, 503, 503)
    delivery = webhook_delivery(receiver)

    queue_delivery(delivery)
    call_command("db_worker", "--batch", "--no-startup-delay")

    assert_delivered_once_after_three_failures(receiver, delivery)
    assert_attempts_on_the_alerts_page(delivery, client)

    # Nothing is left to do: another pass of the workers sends nothing more.
    queue_delivery(delivery)
    call_command("db_worker", "--batch", "--no-startup-delay")
    assert len(receiver.requests) == 4


def test_each_retry_waits_its_delay(receiver, settings, db):
    settings.ALERT_RETRY_DELAYS = [timedelta(seconds=30), timedelta(minutes=2)] + [
        timedelta(minutes=10)
    ] * 3
    receiver.answer(503, 503, 503)
    delivery = webhook_delivery(receiver)
    now = timezone.now()

    assert attempt_delivery(delivery.pk, now=now).next_attempt_at == now + timedelta(seconds=30)
    # Not due yet: nothing is sent.
    assert attempt_delivery(delivery.pk, now=now + timedelta(seconds=29)) is None
    assert len(receiver.requests) == 1
    now += timedelta(seconds=30)
    assert attempt_delivery(delivery.pk, now=now).next_attempt_at == now + timedelta(minutes=2)
    now += timedelta(minutes=2)
    retried = attempt_delivery(delivery.pk, now=now)
    assert retried.state == Delivery.State.RETRYING
    assert retried.next_attempt_at == now + timedelta(minutes=10)
    now += timedelta(minutes=10)
    assert attempt_delivery(delivery.pk, now=now).state == Delivery.State.SENT

    assert_delivered_once_after_three_failures(receiver, delivery)
    assert attempt_delivery(delivery.pk, now=now + timedelta(days=1)) is None
    assert len(receiver.requests) == 4


def test_a_receiver_that_never_recovers_leaves_the_delivery_failed(receiver, settings, db):
    settings.ALERT_RETRY_DELAYS = [timedelta(seconds=1)] * 2
    receiver.answer(503, 503, 503, 503)
    delivery = webhook_delivery(receiver)
    now = timezone.now()

    for step in range(3):
        attempt_delivery(delivery.pk, now=now + timedelta(seconds=step))

    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.FAILED
    assert delivery.attempts == 3
    assert delivery.attempt_log.filter(ok=False, status_code=503).count() == 3
    assert attempt_delivery(delivery.pk, now=now + timedelta(days=1)) is None
    assert len(receiver.requests) == 3
