"""The profile page in Chromium: reached from the user menu, with JavaScript and without,
at a desktop's and a phone's width; subscriptions saved and reset, a bad address refused
next to its field, and the test e-mail received by a real SMTP server on loopback."""

import pytest
from playwright.sync_api import expect

from alerts.models import Rule, Subscription
from tests.support.browser import PolicyWatch, signed_in_without_javascript
from tests.support.smtp import smtp_server, use_smtp

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def smtp(settings):
    with smtp_server() as inbox:
        use_smtp(settings, inbox)
        yield inbox


def open_profile(page, user, *, phone=False):
    if phone:
        page.locator("nav.navbar .navbar-toggler").click()
    page.locator("nav.navbar").get_by_text(user.get_username(), exact=True).click()
    page.get_by_role("link", name="Profile and alerts").click()
    expect(page.get_by_role("heading", name="Your profile", level=1)).to_be_visible()


def subscription(page, rule_name):
    return page.get_by_role("checkbox", name=rule_name)


@pytest.mark.browser_context_args(viewport=DESKTOP)
def test_finance_changes_its_alerts_and_gets_a_test_email(
    log_in, finance_user, smtp, console_errors
):
    console_errors.expect_status(400, "/alerts/profile/")  # the refused address, below
    page = log_in(finance_user)
    watch = PolicyWatch(page)
    open_profile(page, finance_user)

    runway = subscription(page, "Runway under 14 days")
    expect(runway).to_be_checked()
    runway.uncheck()
    subscription(page, "Sync failing").check()
    page.get_by_role("button", name="Save subscriptions").click()
    expect(page.get_by_text("Your subscriptions are saved.")).to_be_visible()
    expect(subscription(page, "Runway under 14 days")).not_to_be_checked()
    expect(subscription(page, "Sync failing")).to_be_checked()
    assert dict(
        Subscription.objects.filter(user=finance_user).values_list("rule__kind", "subscribed")
    ) == {Rule.Kind.RUNWAY: False, Rule.Kind.SYNC_FAILING: True}

    email = page.get_by_role("textbox", name="E-mail address")
    email.fill("fiona at finance")
    page.get_by_role("button", name="Save address").click()
    expect(page.get_by_test_id("email-errors")).to_have_text("Enter a valid email address.")
    expect(page.get_by_role("textbox", name="E-mail address")).to_have_attribute(
        "aria-invalid", "true"
    )

    page.get_by_role("button", name="Send me a test e-mail").click()
    expect(
        page.get_by_text(f"A test e-mail is on its way to {finance_user.email}.")
    ).to_be_visible()
    assert [mail.to for mail in smtp.messages] == [[finance_user.email]]

    page.get_by_role("button", name="Reset to my role's defaults").click()
    expect(page.get_by_text("You receive your role's defaults again.")).to_be_visible()
    expect(subscription(page, "Runway under 14 days")).to_be_checked()
    expect(subscription(page, "Sync failing")).not_to_be_checked()
    assert watch.gather() == []  # nothing the Content Security Policy refused


def test_support_uses_the_profile_without_javascript_on_a_phone(browser, live_server, support_user):
    with signed_in_without_javascript(
        browser, live_server.url, support_user, viewport=PHONE
    ) as page:
        open_profile(page, support_user, phone=True)
        # Support may not see balances: the balance rules are not offered.
        expect(subscription(page, "Balance below threshold")).to_have_count(0)
        expect(subscription(page, "Purchases unknown for 30 minutes")).to_be_checked()

        page.get_by_role("textbox", name="E-mail address").fill("sam@support.example")
        page.get_by_role("button", name="Save address").click()
        expect(page.get_by_text("Alerts now go to sam@support.example.")).to_be_visible()
        support_user.refresh_from_db()
        assert support_user.email == "sam@support.example"

        page.get_by_role("link", name="Change your password").click()
        expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_text("This field is required.").first).to_be_visible()
