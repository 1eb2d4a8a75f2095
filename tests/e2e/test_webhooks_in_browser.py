"""An admin adds a webhook channel in Chromium and sends it a test, as people do: the channels
page reached from the navigation, the form filled in and sent, the secret shown once (and on
no page after), "Send a test" clicked, the outcome read on the channel's card; a real
receiver on loopback got the test, signed with that secret. With JavaScript (htmx swaps the
card; no console error or CSP violation) and without, at a desktop's and a phone's width."""

import re

import pytest
from playwright.sync_api import Page, expect

from alerts.models import Delivery, WebhookEndpoint
from tests.support.axe import axe_violations
from tests.support.browser import PolicyWatch, signed_in_without_javascript
from tests.support.receivers import WebhookReceiver, verify

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def receiver():
    with WebhookReceiver() as receiver:
        yield receiver


def open_channels_from_the_navigation(page: Page, viewport):
    """Click "Webhooks" in the navigation's Alerts menu, opening the phone's menu first."""
    nav = page.get_by_test_id("main-nav")
    if viewport is PHONE:
        expect(nav).to_be_hidden()
        page.locator("nav.navbar .navbar-toggler").click()
    nav.get_by_text("Alerts", exact=True).click()  # a <details>: opens without JavaScript
    nav.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()


def accessible(page: Page, where: str):
    """axe-core finds nothing against WCAG 2.1 A and AA in the page as it shows."""
    found = [
        f"{rule['id']} ({rule['impact']}): {node['target']}: {node['why'] or rule['help']}"
        for rule in axe_violations(page)
        for node in rule["nodes"]
    ]
    assert found == [], f"{where}:\n" + "\n".join(found)


def add_channel_and_send_a_test(page: Page, live_server, receiver, viewport, *, javascript):
    """The whole path, returning the secret the page showed; with JavaScript, axe-core
    checks each page on the way."""

    def check(where):
        if javascript:
            accessible(page, where)

    open_channels_from_the_navigation(page, viewport)
    expect(page.get_by_test_id("channels-empty")).to_be_visible()
    page.get_by_role("link", name="Add a webhook").click()
    expect(page.get_by_role("heading", name="Add a webhook", exact=True)).to_be_visible()

    # A first try without a URL is refused with the reason beside the field.
    page.get_by_label("Name").fill("Ops on-call")
    page.get_by_role("button", name="Add the webhook").click()
    url_field = page.get_by_label("URL", exact=True)
    expect(url_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_url_error")).to_have_text("This field is required.")
    assert not WebhookEndpoint.objects.exists()
    check("the form with an error")

    url_field.fill(receiver.url)
    page.get_by_label("JSON (documented body, signed)").check()
    page.get_by_label("Balance below threshold").check()
    page.get_by_role("button", name="Add the webhook").click()

    # The secret, once.
    expect(page.get_by_role("heading", name="Webhook Ops on-call added")).to_be_visible()
    secret_field = page.get_by_test_id("secret")
    secret = secret_field.input_value()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret), secret
    copy = page.get_by_role("button", name="Copy")
    if javascript:
        expect(copy).to_be_visible()  # static/alerts/channels.js ran under the policy
    else:
        expect(copy).to_be_hidden()
    check("the secret's page")
    page.get_by_role("link", name="I have copied it: back to the webhooks").click()

    channel = page.get_by_test_id("channel").filter(has_text="Ops on-call")
    expect(channel).to_be_visible()
    expect(channel.get_by_test_id("channel-rules")).to_have_text("Balance below threshold")
    expect(channel.get_by_test_id("last-delivery")).to_have_text("None yet")
    assert secret not in page.content()

    channel.get_by_role("button", name="Send a test to Ops on-call").click()

    outcome = channel.get_by_test_id("test-outcome")
    expect(outcome).to_contain_text("Test delivered")
    expect(outcome).to_contain_text("the receiver answered HTTP 200")
    expect(channel.get_by_test_id("last-delivery")).to_contain_text("Sent")
    assert secret not in page.content()
    check("the channels after a test")

    # The channel's own page never shows it either.
    channel.get_by_role("link", name="Edit Ops on-call").click()
    expect(page.get_by_role("heading", name="Edit Ops on-call")).to_be_visible()
    assert secret not in page.content()
    check("the channel's page")
    return secret


def assert_the_receiver_got_one_signed_test(receiver, secret):
    [request] = receiver.requests
    assert verify(request, secret)
    assert not verify(request, secret[::-1])
    assert request.header("X-Portal-Event") == "alert.test"
    assert request.json()["alert"]["rule"]["name"] == "Balance below threshold"
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.SENT
    assert delivery.attempt_log.get().status_code == 200


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_admin_adds_a_webhook_and_sends_a_test_with_javascript(
    page, log_in, live_server, admin_user, receiver, viewport, console_errors
):
    # The refused first try answers 400, which Chromium logs; nothing else may be logged.
    console_errors.expect_status(400, "/alerts/channels/add/")
    page.set_viewport_size(viewport)
    watch = PolicyWatch(page)
    log_in(admin_user)
    tests_sent = []
    page.on(
        "request",
        lambda request: (
            tests_sent.append(request.headers.get("hx-request"))
            if request.url.endswith("/test/")
            else None
        ),
    )

    secret = add_channel_and_send_a_test(page, live_server, receiver, viewport, javascript=True)

    assert tests_sent == ["true"]  # htmx sent it and swapped the card in place
    assert_the_receiver_got_one_signed_test(receiver, secret)
    assert watch.gather() == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_admin_adds_a_webhook_and_sends_a_test_without_javascript(
    browser, live_server, admin_user, receiver, viewport
):
    with signed_in_without_javascript(
        browser, live_server.url, admin_user, viewport=viewport
    ) as page:
        secret = add_channel_and_send_a_test(
            page, live_server, receiver, viewport, javascript=False
        )

    assert_the_receiver_got_one_signed_test(receiver, secret)
