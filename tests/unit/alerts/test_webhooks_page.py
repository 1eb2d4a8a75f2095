"""The alert channels page (/alerts/channels/): admins add and edit webhooks, see a new
secret once and never again, rotate it, disable or delete a channel, and send a test that
goes to a real receiver on loopback and into the delivery log. Each change is audited
without the secret; bad input is refused with its reason and changes nothing."""

import logging
import re

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.models import Alert, Delivery, Rule, WebhookEndpoint
from portal.models import AuditEvent
from portal.providers import network
from tests.support.factories import WebhookEndpointFactory
from tests.support.receivers import WebhookReceiver, verify

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def receiver():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def admin(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def logged(caplog):
    """Every log record of every logger, at DEBUG, as one text."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "alerts", "portal", "django"):
        caplog.set_level(logging.DEBUG, logger=name)
    return lambda: "\n".join(record.getMessage() for record in caplog.records)


def rule(name="Balance below threshold"):
    return Rule.objects.get(name=name)


def form_data(**fields):
    data = {"name": "Ops on-call", "url": "https://hooks.example.com/portal", "format": "json"}
    data.update(fields)
    if "is_active" not in fields:
        data["is_active"] = "on"
    return {key: value for key, value in data.items() if value is not None}


def shown_secret(response) -> str:
    match = re.search(r'id="signing-secret"[^>]*value="([^"]+)"', response.content.decode())
    assert match, "the page shows no secret"
    return match.group(1)


def add(client, **fields):
    return client.post(reverse("alerts:channel_add"), form_data(**fields))


def alert_settings_events():
    return AuditEvent.objects.filter(action=AuditEvent.Action.ALERT_SETTINGS).order_by("pk")


# --- the list --------------------------------------------------------------------------


def test_the_list_says_when_there_is_no_channel(admin):
    response = admin.get(reverse("alerts:channels"))
    assert response.status_code == 200
    assert b'data-testid="channels-empty"' in response.content
    assert b"Add a webhook" in response.content


def test_the_list_shows_each_channel_with_its_rules_and_latest_delivery(admin, db):
    webhook = WebhookEndpointFactory(name="Ops", url="https://hooks.example.com/ops")
    webhook.rules.add(rule(), rule("Sync failing"))
    WebhookEndpointFactory(name="Finance Slack", format="slack", is_active=False)

    html = admin.get(reverse("alerts:channels")).content.decode()

    assert html.index("Finance Slack") < html.index(">Ops<")
    assert "https://hooks.example.com/ops" in html
    assert "Balance below threshold, Sync failing" in html
    assert "No rule yet: only tests" in html
    assert "Disabled" in html and "Slack" in html
    assert "None yet" in html
    assert webhook.secret not in html


def test_the_list_pages_past_25_channels(admin, db):
    for number in range(27):
        WebhookEndpointFactory(name=f"Channel {number:02d}")
    first = admin.get(reverse("alerts:channels")).content.decode()
    second = admin.get(reverse("alerts:channels"), {"page": "2"}).content.decode()
    assert "Channel 24" in first and "Channel 25" not in first
    assert "Channel 25" in second and "Page 2 of 2" in second
    # A page out of range shows the last; junk shows the first.
    assert "Channel 26" in admin.get(reverse("alerts:channels"), {"page": "99"}).content.decode()
    assert "Channel 00" in admin.get(reverse("alerts:channels"), {"page": "x"}).content.decode()


# --- adding: the secret, once ----------------------------------------------------------


def test_a_new_channel_shows_its_secret_once_and_never_again(admin, admin_user, logged):
    response = add(admin, rules=[rule().pk])

    assert response.status_code == 200
    secret = shown_secret(response)
    assert len(secret) >= 43
    assert "no-store" in response["Cache-Control"]
    webhook = WebhookEndpoint.objects.get(name="Ops on-call")
    assert webhook.secret == secret
    assert list(webhook.rules.all()) == [rule()]

    # Never again: not on the list, the channel's page, a repeat of the list, the log.
    pages = [
        admin.get(reverse("alerts:channels")),
        admin.get(reverse("alerts:channel_edit", args=[webhook.pk])),
        admin.get(reverse("alerts:channels"), {"tested": "1"}),
    ]
    for page in pages:
        assert page.status_code == 200
        assert secret not in page.content.decode()
    assert secret not in logged()

    [event] = alert_settings_events()
    assert event.actor == admin_user
    assert event.object_id == str(webhook.pk)
    assert event.after == {
        "name": "Ops on-call",
        "url": "https://hooks.example.com/portal",
        "format": "json",
        "is_active": True,
        "rules": ["Balance below threshold"],
        "secret": "set",
    }
    assert secret not in str(event.before) + str(event.after)


def test_each_channel_gets_its_own_secret(admin, db):
    first = shown_secret(add(admin, name="One"))
    second = shown_secret(add(admin, name="Two"))
    assert first != second


def test_a_url_without_scheme_is_taken_as_https(admin, db):
    add(admin, url="hooks.example.com/portal")
    assert WebhookEndpoint.objects.get().url == "https://hooks.example.com/portal"


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"url": ""}, "url", "This field is required."),
        ({"url": "not a url"}, "url", "Enter a valid URL, starting with https://."),
        ({"url": "ftp://hooks.example.com/x"}, "url", "Enter a valid URL, starting with https://."),
        ({"url": "https://" + "a" * 500 + ".com"}, "url", "Ensure this value has at most 500"),
        ({"format": "xml"}, "format", "Select a valid choice. xml is not one of"),
        ({"format": None}, "format", "This field is required."),
        ({"rules": ["999999"]}, "rules", "Select a valid choice. 999999 is not one of"),
        ({"rules": ["abc"]}, "rules", "“abc” is not a valid value."),
        ({"name": "x" * 101}, "name", "Ensure this value has at most 100 characters"),
    ],
)
def test_bad_input_is_refused_with_its_reason_and_adds_nothing(admin, fields, field, message):
    response = add(admin, **fields)

    assert response.status_code == 400
    form = response.context["form"]
    assert any(error.startswith(message) for error in form.errors[field]), form.errors
    html = response.content.decode()
    for error in form.errors[field]:
        assert escape(error) in html
    assert 'aria-invalid="true"' in html or field in ("format", "rules")
    assert not WebhookEndpoint.objects.exists()
    assert not alert_settings_events().exists()
    assert 'id="signing-secret"' not in html


def test_a_name_already_taken_is_refused(admin, db):
    WebhookEndpointFactory(name="Ops on-call")
    response = add(admin)
    assert response.status_code == 400
    assert "Webhook endpoint with this Name already exists." in response.content.decode()
    assert WebhookEndpoint.objects.count() == 1


def test_a_private_address_is_refused_in_production_and_allowed_in_tests(
    admin, settings, monkeypatch
):
    response = add(admin, name="Local", url="http://127.0.0.1:9000/hook")
    assert response.status_code == 200  # the tests' settings allow loopback

    settings.ALLOW_PRIVATE_UPSTREAMS = False
    refused = add(admin, name="Plain", url="http://hooks.example.com/hook")
    assert refused.status_code == 400
    assert "Webhooks are reached over https only, not http" in refused.content.decode()
    monkeypatch.setattr(network, "resolve", lambda host, port: ["192.168.1.20"])
    inside = add(admin, name="Inside", url="https://hooks.corp.example.com/hook")
    assert inside.status_code == 400
    assert (
        escape("hooks.corp.example.com leads to 192.168.1.20, an address inside the network")
        in inside.content.decode()
    )
    assert list(WebhookEndpoint.objects.values_list("name", flat=True)) == ["Local"]


PROPERTY = settings(
    max_examples=30,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
FIELDS = ["name", "url", "format", "rules", "is_active", "secret", "junk"]


@PROPERTY
@given(fields=st.lists(st.tuples(st.sampled_from(FIELDS), TEXT), max_size=8))
def test_no_input_breaks_the_forms(admin, fields):
    body = {}
    for name, value in fields:
        body.setdefault(name, []).append(value)
    webhook = WebhookEndpointFactory(name="Existing")
    try:
        with transaction.atomic():
            for url in (
                reverse("alerts:channel_add"),
                reverse("alerts:channel_edit", args=[webhook.pk]),
                reverse("alerts:channel_remove", args=[webhook.pk]),
            ):
                before = list(WebhookEndpoint.objects.values_list("pk", "name", "url"))
                response = admin.post(url, body)
                assert response.status_code in (200, 302, 400), response.status_code
                if response.status_code == 400:
                    assert list(WebhookEndpoint.objects.values_list("pk", "name", "url")) == before
                # A secret is never taken from the form.
                assert (
                    "secret" not in body
                    or not WebhookEndpoint.objects.filter(secret__in=body["secret"]).exists()
                )
            transaction.set_rollback(True)
    finally:
        WebhookEndpoint.objects.filter(pk=webhook.pk).delete()


# --- editing, rotating, disabling, deleting --------------------------------------------


def test_editing_saves_and_audits_what_changed_and_keeps_the_secret(admin, db):
    webhook = WebhookEndpointFactory(name="Ops", url="https://hooks.example.com/a")
    webhook.rules.add(rule())
    secret = webhook.secret

    page = admin.get(reverse("alerts:channel_edit", args=[webhook.pk]))
    assert page.status_code == 200
    assert secret not in page.content.decode()
    response = admin.post(
        reverse("alerts:channel_edit", args=[webhook.pk]),
        form_data(
            name="Ops",
            url="https://hooks.example.com/b",
            format="slack",
            rules=[rule().pk, rule("Sync failing").pk],
        ),
    )

    assert response.status_code == 302
    assert response.url == f"{reverse('alerts:channels')}#channel-{webhook.pk}"
    webhook.refresh_from_db()
    assert (webhook.url, webhook.format, webhook.secret) == (
        "https://hooks.example.com/b",
        "slack",
        secret,
    )
    [event] = alert_settings_events()
    assert event.before == {
        "url": "https://hooks.example.com/a",
        "format": "json",
        "rules": ["Balance below threshold"],
    }
    assert event.after == {
        "url": "https://hooks.example.com/b",
        "format": "slack",
        "rules": ["Balance below threshold", "Sync failing"],
    }
    # Saving it unchanged records nothing.
    admin.post(
        reverse("alerts:channel_edit", args=[webhook.pk]),
        form_data(
            name="Ops",
            url="https://hooks.example.com/b",
            format="slack",
            rules=[rule().pk, rule("Sync failing").pk],
        ),
    )
    assert alert_settings_events().count() == 1


def test_an_invalid_edit_changes_nothing(admin, db):
    webhook = WebhookEndpointFactory(name="Ops", url="https://hooks.example.com/a")
    response = admin.post(
        reverse("alerts:channel_edit", args=[webhook.pk]), form_data(name="", url="nope")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html and "Enter a valid URL, starting with" in html
    webhook.refresh_from_db()
    assert (webhook.name, webhook.url) == ("Ops", "https://hooks.example.com/a")


def test_rotating_shows_a_new_secret_once_and_the_old_one_stops_verifying(admin, receiver, logged):
    webhook = WebhookEndpointFactory(url=receiver.url)
    old = webhook.secret

    response = admin.post(reverse("alerts:channel_rotate", args=[webhook.pk]))

    assert response.status_code == 200
    new = shown_secret(response)
    assert new != old
    assert "no-store" in response["Cache-Control"]
    webhook.refresh_from_db()
    assert webhook.secret == new
    [event] = alert_settings_events()
    assert (event.before, event.after) == ({"secret": "set"}, {"secret": "changed"})

    admin.post(reverse("alerts:channel_test", args=[webhook.pk]))
    [request] = receiver.requests
    assert verify(request, new)
    assert not verify(request, old)
    assert new not in logged() and old not in logged()
    assert new not in admin.get(reverse("alerts:channel_edit", args=[webhook.pk])).content.decode()


def test_rotating_is_a_post(admin, db):
    webhook = WebhookEndpointFactory()
    assert admin.get(reverse("alerts:channel_rotate", args=[webhook.pk])).status_code == 405
    assert not alert_settings_events().exists()


def test_disabling_enabling_and_deleting_are_audited(admin, db):
    webhook = WebhookEndpointFactory(name="Ops")
    url = reverse("alerts:channel_remove", args=[webhook.pk])

    assert admin.post(url, {"action": "disable"}).status_code == 302
    webhook.refresh_from_db()
    assert not webhook.is_active
    assert admin.post(url, {"action": "enable"}).status_code == 302
    webhook.refresh_from_db()
    assert webhook.is_active

    delivery = Delivery.objects.create(
        alert=Alert.objects.create(
            rule=rule(), subject="portal", summary="s", opened_at=webhook.created_at
        ),
        channel=Delivery.Channel.WEBHOOK,
        webhook=webhook,
    )
    response = admin.post(url, {"action": "delete"}, follow=True)
    assert "Ops: deleted. Its deliveries stay in the history." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()
    delivery.refresh_from_db()
    assert delivery.webhook is None  # the history keeps the delivery

    events = list(alert_settings_events())
    assert [(e.before, e.after) for e in events[:2]] == [
        ({"is_active": True}, {"is_active": False}),
        ({"is_active": False}, {"is_active": True}),
    ]
    assert events[2].after == {"deleted": True}
    assert events[2].before["secret"] == "set"
    assert webhook.secret not in str(events[2].before)


def test_an_unknown_action_is_refused_on_the_channels_page(admin, db):
    webhook = WebhookEndpointFactory(name="Ops")
    response = admin.post(
        reverse("alerts:channel_remove", args=[webhook.pk]), {"action": "explode"}
    )
    assert response.status_code == 400
    assert (
        "Choose what to do with the channel: disable, enable or delete it."
        in response.content.decode()
    )
    assert WebhookEndpoint.objects.filter(is_active=True).exists()


def test_deleting_needs_the_delete_permission(client, db):
    from django.contrib.auth.models import Permission

    from tests.support.factories import UserFactory

    user = UserFactory(username="channel-keeper")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_webhookendpoint", "change_webhookendpoint"])
    )
    client.force_login(user)
    webhook = WebhookEndpointFactory()
    url = reverse("alerts:channel_remove", args=[webhook.pk])
    assert client.post(url, {"action": "delete"}).status_code == 403
    assert client.post(url, {"action": "disable"}).status_code == 302
    assert WebhookEndpoint.objects.filter(pk=webhook.pk, is_active=False).exists()


# --- "Send a test" ---------------------------------------------------------------------


def test_send_a_test_without_javascript_shows_the_outcome_on_the_list(admin, receiver, logged):
    webhook = WebhookEndpointFactory(name="Ops", url=receiver.url)
    webhook.rules.add(rule("Sync failing"))

    response = admin.post(reverse("alerts:channel_test", args=[webhook.pk]))

    delivery = Delivery.objects.get(webhook=webhook)
    assert response.status_code == 302
    assert response.url == f"{reverse('alerts:channels')}?tested={delivery.pk}#channel-{webhook.pk}"
    [request] = receiver.requests
    assert verify(request, webhook.secret)
    assert request.header("X-Portal-Event") == "alert.test"
    body = request.json()
    assert body["event"] == "alert.test"
    assert body["alert"]["rule"]["name"] == "Sync failing"
    assert body["alert"]["summary"] == "A test of the channel Ops, sent by ada-admin."

    # The test is in the delivery log: a cleared alert, its delivery sent, its attempt.
    assert delivery.state == Delivery.State.SENT
    assert delivery.alert.subject == Alert.TEST_SUBJECT
    assert delivery.alert.cleared_at is not None
    attempt = delivery.attempt_log.get()
    assert (attempt.ok, attempt.status_code, attempt.excerpt) == (True, 200, "ok")

    html = admin.get(response.url).content.decode()
    outcome = html[html.index('data-testid="test-outcome"') :]
    assert "Test delivered" in outcome
    assert "the receiver answered HTTP 200" in outcome
    assert webhook.secret not in html and webhook.secret not in logged()


def test_send_a_test_with_htmx_swaps_the_channel_card(admin, receiver):
    webhook = WebhookEndpointFactory(name="Ops", url=receiver.url)

    response = admin.post(
        reverse("alerts:channel_test", args=[webhook.pk]),
        HTTP_HX_TARGET=f"channel-{webhook.pk}",
        **HTMX,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(
        f'<section class="card border-0 shadow-sm mb-3" id="channel-{webhook.pk}"'
    )
    assert "<html" not in html
    assert "Test delivered" in html
    assert "HX-Request" in response["Vary"]
    assert len(receiver.requests) == 1


def test_a_failed_test_shows_why_and_is_not_retried(admin, receiver):
    receiver.answer(503)
    webhook = WebhookEndpointFactory(name="Ops", url=receiver.url)

    response = admin.post(reverse("alerts:channel_test", args=[webhook.pk]), follow=True)

    html = response.content.decode()
    outcome = html[html.index('data-testid="test-outcome"') :]
    assert "Test failed" in outcome
    assert "HTTP 503" in outcome
    assert "status 503 from the test receiver" in outcome
    delivery = Delivery.objects.get(webhook=webhook)
    assert delivery.state == Delivery.State.FAILED
    assert delivery.next_attempt_at is None


def test_a_test_of_a_disabled_channel_sends_nothing(admin, receiver):
    webhook = WebhookEndpointFactory(url=receiver.url, is_active=False)
    response = admin.post(reverse("alerts:channel_test", args=[webhook.pk]), follow=True)
    assert "is disabled: not sent." in response.content.decode()
    assert receiver.requests == []


def test_a_test_needs_a_rule(admin, db):
    Rule.objects.all().delete()
    webhook = WebhookEndpointFactory(name="Ops")
    response = admin.post(reverse("alerts:channel_test", args=[webhook.pk]), follow=True)
    assert "There is no alert rule to send a test of: add a rule first." in (
        response.content.decode()
    )
    assert not Delivery.objects.exists()


def test_others_may_not_use_the_page(client, support_user, finance_user, db):
    webhook = WebhookEndpointFactory()
    for user in (support_user, finance_user):
        client.force_login(user)
        assert client.get(reverse("alerts:channels")).status_code == 403
        assert client.post(reverse("alerts:channel_test", args=[webhook.pk])).status_code == 403
        assert client.post(reverse("alerts:channel_rotate", args=[webhook.pk])).status_code == 403
    assert not Delivery.objects.exists()
    assert not alert_settings_events().exists()


def test_no_admin_page_shows_the_secret(admin, db):
    webhook = WebhookEndpointFactory(name="Ops")
    pages = [
        reverse("admin:alerts_webhookendpoint_changelist"),
        reverse("admin:alerts_webhookendpoint_change", args=[webhook.pk]),
        reverse("admin:alerts_webhookendpoint_history", args=[webhook.pk]),
    ]
    for url in pages:
        response = admin.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "Ops" in html
        assert webhook.secret not in html, url
