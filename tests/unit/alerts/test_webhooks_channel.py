"""The webhook channel against a real HTTP receiver on loopback (tests/support/receivers.py):
what it sends (the documented JSON, Slack's format), how it signs it (checked with the
README's recipe, written independently in the receiver), what it makes of failures, and
that the endpoint's secret reaches no body, header other than the signature, log line or
attempt excerpt."""

import json
import logging
import re
import socket

import pytest
from django.conf import settings as configured
from django.utils import timezone

from alerts.channels import webhook as webhook_channel
from alerts.channels.base import SendFailed
from alerts.channels.signing import signature
from alerts.channels.webhook import send
from alerts.models import Alert, Delivery, DeliveryAttempt, Rule
from alerts.services.delivery import attempt_delivery
from portal.providers import network
from tests.support.factories import (
    AlertFactory,
    DeliveryFactory,
    WebhookEndpointFactory,
    provider_account,
)
from tests.support.paths import BASE_DIR
from tests.support.production import manage
from tests.support.receivers import ECHO, Answer, WebhookReceiver, verify

SECRET = "whsec_9Rk2kJcXw0tq3vB7ZyP1mN4aLs8dF6gH"


@pytest.fixture
def receiver():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def alert(db):
    account = provider_account("audian", name="Audian main")
    rule = Rule.objects.get(name="Balance below threshold")  # a default rule
    return AlertFactory(
        rule=rule,
        account=account,
        summary="Audian · Audian main: balance 12.00 USD, below its threshold of 50.00 USD",
        facts={"balance": "12.00", "threshold": "50.00", "currency": "USD"},
    )


def delivery_to(receiver, alert, *, round=0, **endpoint):
    webhook = WebhookEndpointFactory(url=receiver.url, secret=SECRET, **endpoint)
    webhook.rules.add(alert.rule)
    return DeliveryFactory(
        alert=alert,
        round=round,
        channel=Delivery.Channel.WEBHOOK,
        recipient=None,
        address="",
        webhook=webhook,
    )


def sent(delivery):
    """The delivery as attempt_delivery hands it to the channel."""
    delivery = Delivery.objects.select_related("alert__rule", "alert__account", "webhook").get(
        pk=delivery.pk
    )
    return send(delivery)


# --- the signature ----------------------------------------------------------------------


def test_the_signature_verifies_with_the_secret_and_fails_with_another(receiver, alert):
    result = sent(delivery_to(receiver, alert))

    assert result.status_code == 200
    [request] = receiver.requests
    assert verify(request, SECRET)
    assert not verify(request, "whsec_some_other_secret_entirely_000000")
    # The signature covers the body as sent: one changed byte fails it.
    tampered = request.__class__(
        request.method,
        request.path,
        request.headers,
        request.body.replace(b"12.00", b"99.00"),
        request.answered,
    )
    assert not verify(tampered, SECRET)


def test_the_signature_header_is_in_the_documented_form(receiver, alert):
    sent(delivery_to(receiver, alert))

    [request] = receiver.requests
    header = request.header("X-Portal-Signature")
    timestamp, hexdigest = header.split(",")
    assert timestamp.startswith("t=") and timestamp[2:].isdigit()
    assert abs(int(timestamp[2:]) - timezone.now().timestamp()) < 60
    assert hexdigest.startswith("v1=") and len(hexdigest) == 3 + 64
    # A receiver refuses a request signed long ago (a replay), as the README recipe does.
    assert not verify(request, SECRET, now=int(timestamp[2:]) + 301)


# --- the body and headers --------------------------------------------------------------


def test_the_json_body_describes_the_alert(receiver, alert, settings):
    settings.PORTAL_URL = "https://portal.example.com"
    delivery = delivery_to(receiver, alert)

    sent(delivery)

    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == "/hooks/portal"
    assert request.header("Content-Type") == "application/json"
    assert request.header("X-Portal-Event") == "alert.fired"
    assert request.header("X-Portal-Delivery") == str(delivery.pk)
    account = alert.account
    assert request.json() == {
        "event": "alert.fired",
        "delivery": str(delivery.pk),
        "alert": {
            "id": alert.pk,
            "rule": {"id": alert.rule.pk, "kind": "low_balance", "name": "Balance below threshold"},
            "subject": f"account:{account.pk}",
            "account": {"id": account.pk, "name": "Audian main", "provider": "Audian"},
            "summary": alert.summary,
            "facts": {"balance": "12.00", "threshold": "50.00", "currency": "USD"},
            "opened_at": alert.opened_at.isoformat(),
            "cleared_at": None,
            "reminder": 0,
            "url": "https://portal.example.com/alerts/",
        },
    }


def test_a_reminder_and_a_test_say_so(receiver, alert):
    sent(delivery_to(receiver, alert, round=2))
    portal_wide = AlertFactory(
        rule=alert.rule, account=None, subject=Alert.TEST_SUBJECT, summary="A test."
    )
    sent(delivery_to(receiver, portal_wide))

    reminder, test = receiver.requests
    assert reminder.header("X-Portal-Event") == "alert.reminder"
    assert reminder.json()["event"] == "alert.reminder"
    assert reminder.json()["alert"]["reminder"] == 2
    assert test.json()["event"] == "alert.test"
    assert test.json()["alert"]["account"] is None


def test_the_slack_format_is_a_signed_slack_message(receiver, alert):
    alert.summary = "Audian <main> & co: balance 12.00 USD"
    alert.save()

    sent(delivery_to(receiver, alert, format="slack"))

    [request] = receiver.requests
    assert verify(request, SECRET)
    body = request.json()
    assert set(body) == {"text", "blocks"}
    # Slack reads <, > and & as markup: they are written as entities.
    assert body["text"] == (
        ":rotating_light: *Balance below threshold*: Audian &lt;main&gt; &amp; co: "
        "balance 12.00 USD"
    )
    section, fields, context = body["blocks"]
    assert section == {"type": "section", "text": {"type": "mrkdwn", "text": body["text"]}}
    assert {"type": "mrkdwn", "text": "*threshold*\n50.00"} in fields["fields"]
    assert context["type"] == "context"
    assert "|Open in the Number portal>" in context["elements"][0]["text"]
    assert "Audian main" in context["elements"][0]["text"]


# --- failures ----------------------------------------------------------------------------


def test_an_answer_other_than_2xx_fails_with_its_status_and_an_excerpt(receiver, alert):
    receiver.answer(Answer(503, b"upstream maintenance\n\n   back soon"))

    with pytest.raises(SendFailed) as failed:
        sent(delivery_to(receiver, alert))

    assert failed.value.status_code == 503
    assert str(failed.value) == "503 Service Unavailable: upstream maintenance back soon"
    assert not failed.value.final


def test_a_redirect_is_not_followed(receiver, alert):
    receiver.answer(Answer(302, b"moved"))

    with pytest.raises(SendFailed) as failed:
        sent(delivery_to(receiver, alert))

    assert failed.value.status_code == 302
    assert len(receiver.requests) == 1


def test_a_receiver_that_does_not_answer_in_time_is_a_failure(receiver, alert, monkeypatch):
    monkeypatch.setattr(webhook_channel, "DEADLINE_SECONDS", 0.5)
    receiver.answer(Answer(200, b"too late", delay=2))

    with pytest.raises(SendFailed) as failed:
        sent(delivery_to(receiver, alert))

    assert str(failed.value) == "127.0.0.1 did not answer within 0.5 seconds."
    assert failed.value.status_code is None


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_receiver_that_is_down_is_a_failure_without_status(alert, db):
    webhook = WebhookEndpointFactory(url=f"http://127.0.0.1:{closed_port()}/hook", secret=SECRET)
    delivery = DeliveryFactory(
        alert=alert, channel="webhook", recipient=None, address="", webhook=webhook
    )

    with pytest.raises(SendFailed) as failed:
        sent(delivery)

    assert failed.value.status_code is None
    assert str(failed.value).startswith("Could not reach 127.0.0.1:")


def test_a_disabled_or_deleted_channel_fails_for_good(receiver, alert):
    delivery = delivery_to(receiver, alert, is_active=False)

    done = attempt_delivery(delivery.pk)

    assert done.state == Delivery.State.FAILED
    assert done.attempts == 1
    assert "disabled" in done.attempt_log.get().excerpt
    delivery.webhook.delete()
    orphan = DeliveryFactory(
        alert=alert, round=1, channel="webhook", recipient=None, address="", webhook=None
    )
    assert attempt_delivery(orphan.pk).state == Delivery.State.FAILED
    assert receiver.requests == []


# --- address rules -----------------------------------------------------------------------


def test_a_private_address_is_refused_in_production_and_allowed_in_tests(
    receiver, alert, settings, monkeypatch
):
    delivery = delivery_to(receiver, alert)
    assert sent(delivery).status_code == 200  # the tests' settings allow loopback

    settings.ALLOW_PRIVATE_UPSTREAMS = False  # production's default
    with pytest.raises(SendFailed, match="https only"):
        sent(delivery)

    # An https URL whose name leads inside the network is refused before any connection.
    delivery.webhook.url = "https://hooks.internal.example.com/portal"
    delivery.webhook.save()
    monkeypatch.setattr(network, "resolve", lambda host, port: ["10.1.2.3"])
    with pytest.raises(SendFailed, match="inside the network"):
        sent(delivery)
    assert len(receiver.requests) == 1


CLEAN_LOOPBACK_WEBHOOK = """
from django.core.exceptions import ValidationError
from alerts.models import WebhookEndpoint
try:
    WebhookEndpoint(name="x", url="https://127.0.0.1:8443/hook", secret="s").clean()
except ValidationError as refused:
    print(refused.message_dict["url"][0])
else:
    print("allowed")
"""


def test_production_settings_refuse_a_loopback_webhook_and_development_allows_it():
    production = manage("shell", "--no-imports", "-c", CLEAN_LOOPBACK_WEBHOOK)
    assert production.returncode == 0, production.stderr
    assert production.stdout.strip() == (
        "127.0.0.1 leads to 127.0.0.1, an address inside the network (loopback, private, "
        "link-local or reserved); the portal does not call such webhooks (set "
        "ALLOW_PRIVATE_UPSTREAMS to allow it)."
    )
    development = manage("shell", "--no-imports", "-c", CLEAN_LOOPBACK_WEBHOOK, DEBUG="true")
    assert development.stdout.strip() == "allowed"


def test_an_address_that_turns_private_after_the_check_is_refused_at_connect_time(
    receiver, alert, settings, monkeypatch
):
    """The name resolved to a public address when checked, and to loopback when the
    connection was made (DNS rebinding): the connection is refused all the same."""
    settings.ALLOW_PRIVATE_UPSTREAMS = False
    delivery = delivery_to(receiver, alert)
    delivery.webhook.url = "https://rebinding.example.com/portal"
    delivery.webhook.save()
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    monkeypatch.setattr(network, "resolve", lambda host, port: next(answers))

    with pytest.raises(SendFailed) as failed:
        sent(delivery)

    assert "the webhook's URL leads to 127.0.0.1" in str(failed.value)
    assert receiver.requests == []


# --- the secret stays secret -------------------------------------------------------------


@pytest.mark.parametrize("answer", [ECHO, "echo-503", "reason"])
def test_the_secret_reaches_no_body_header_log_or_excerpt(receiver, alert, caplog, answer):
    # Every logger at DEBUG but httpx and httpcore, which the settings hold at WARNING:
    # at DEBUG they write what an upstream answers (status line, headers), and a receiver
    # knows its secret. Nothing the portal sends holds it.
    assert configured.LOGGING["loggers"]["httpx"]["level"] == "WARNING"
    assert configured.LOGGING["loggers"]["httpcore"]["level"] == "WARNING"
    for name in ("httpx", "httpcore"):
        caplog.set_level(logging.WARNING, logger=name)
    # Last: caplog's handler takes the level of the latest call.
    for name in ("alerts", "portal", "django", None):
        caplog.set_level(logging.DEBUG, logger=name)
    # The receiver sends back everything it got, signature included, and the secret itself.
    if answer == ECHO:
        receiver.answer(ECHO)
    elif answer == "reason":
        receiver.answer(Answer(401, b"who are you", reason=f"Expected {SECRET}"))
    else:
        receiver.answer(Answer(503, f"bad signature, expected secret {SECRET}".encode()))
    delivery = delivery_to(receiver, alert)

    attempted = attempt_delivery(delivery.pk)

    [request] = receiver.requests
    signed = request.header("X-Portal-Signature")
    assert SECRET not in request.body.decode()
    others = dict(request.headers)
    del others["x-portal-signature"]
    assert SECRET not in json.dumps(others)
    [attempt] = DeliveryAttempt.objects.filter(delivery=attempted)
    assert attempt.excerpt  # the answer is logged…
    assert SECRET not in attempt.excerpt  # …without the secret
    assert signed not in attempt.excerpt
    assert signed.split("v1=")[1] not in attempt.excerpt
    assert "[redacted]" in attempt.excerpt
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "webhook" in logged
    assert SECRET not in logged


def test_a_secret_cut_short_by_the_read_is_not_logged_either(receiver, alert):
    # The receiver's answer is longer than what the channel reads: the secret straddles
    # the end of what is read, after blank space the excerpt closes up.
    filler = "\n" * 4090
    receiver.answer(Answer(500, f"{filler} {SECRET}".encode()))

    with pytest.raises(SendFailed) as failed:
        sent(delivery_to(receiver, alert))

    assert SECRET[:5] not in str(failed.value)


# --- the README's recipe -----------------------------------------------------------------


def readme_section(title: str) -> str:
    text = (BASE_DIR / "README.md").read_text()
    start = text.index(f"### {title}\n")
    return text[start : text.index("\n#", start + 4)]


def test_the_readme_recipe_verifies_a_real_request(receiver, alert):
    section = readme_section("Verifying the signature")
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    recipe = {}
    exec(code, recipe)  # noqa: S102 - the README's own example, run as a receiver would
    sent(delivery_to(receiver, alert))

    [request] = receiver.requests
    header = request.header("X-Portal-Signature")
    assert recipe["verify"](request.body, header, SECRET)
    assert not recipe["verify"](request.body, header, SECRET[:-1] + "x")
    assert not recipe["verify"](request.body + b" ", header, SECRET)


def test_the_readme_worked_example_is_what_the_portal_signs():
    section = readme_section("Verifying the signature")
    secret = re.search(r"secret `([^`]+)`", section).group(1)
    body = re.search(r"body `([^`]+)`", section).group(1)
    timestamp = int(re.search(r"`t=(\d+)`", section).group(1))
    expected = re.search(r"`v1` is\s+`([0-9a-f]{64})`", section).group(1)

    assert signature(secret=secret, timestamp=timestamp, body=body.encode()) == expected
