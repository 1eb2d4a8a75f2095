"""Alerts in Chromium, with JavaScript on and off, at a desktop's and a phone's width: an admin
opens "Alert rules" from the navigation menu, makes the balance rule remind hourly and ticks
the finance user, who had opted out of it; a sync then finds the balance under its threshold,
the task worker evaluates the rules and e-mails a real SMTP server on loopback; the finance
user sees the alert on the dashboard, goes on to the history and acknowledges it there (htmx
swaps the row's state; without JavaScript the form posts and comes back), and finds the
e-mail sent to them on the alert's page. Then snoozing, for a while and until a time typed.
No console errors and no Content Security Policy violation on the way."""

import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from alerts.models import Alert, Rule, Subscription
from portal.models import AuditEvent, ProviderAccount, SyncRun
from portal.providers.sandbox import build_state
from portal.services.sync import sync_account
from tests.support.browser import PolicyWatch
from tests.support.factories import PASSWORD, AlertFactory, SubscriptionFactory
from tests.support.smtp import smtp_server, use_smtp
from tests.support.world import in_process

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
MODES = {
    "js-desktop": (True, DESKTOP),
    "js-phone": (True, PHONE),
    "nojs-desktop": (False, DESKTOP),
    "nojs-phone": (False, PHONE),
}
THRESHOLD = Decimal(100)
ACKNOWLEDGED = "Acknowledged: no reminders until it clears and fires again."


@pytest.fixture(params=MODES.values(), ids=MODES.keys())
def browser_context_args(browser_context_args, request):
    javascript, viewport = request.param
    return {**browser_context_args, "viewport": viewport, "java_script_enabled": javascript}


@pytest.fixture
def javascript(browser_context_args) -> bool:
    return browser_context_args["java_script_enabled"]


@pytest.fixture
def phone(browser_context_args) -> bool:
    return browser_context_args["viewport"] is PHONE


@pytest.fixture
def watch(page) -> PolicyWatch:
    return PolicyWatch(page)


def policy_violations(watch: PolicyWatch, javascript: bool) -> list[str]:
    # Without JavaScript no page script records the violation events: the console still
    # reports each one.
    return watch.gather() if javascript else watch.messages


# --- Getting around, as people do ------------------------------------------------------------


def sign_in(page: Page, base: str, user):
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()


def open_navigation(page: Page, phone: bool):
    """On a phone the navigation sits behind its Menu toggle."""
    if phone:
        page.locator("nav.navbar .navbar-toggler").click()
    expect(page.get_by_test_id("main-nav")).to_be_visible()


def go_to(page: Page, phone: bool, group: str, item: str):
    open_navigation(page, phone)
    link = page.get_by_test_id("main-nav").get_by_role("link", name=item, exact=True)
    expect(link).to_be_hidden()  # inside its group's menu, closed
    page.locator("nav.navbar").get_by_text(group, exact=True).click()
    link.click()


def sign_out(page: Page, phone: bool, user):
    open_navigation(page, phone)
    page.locator("nav.navbar").get_by_text(user.get_username(), exact=True).click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


# --- The world: a sandbox account, a real SMTP server -----------------------------------------


@pytest.fixture
def alerting(live_server, settings, finance_user, admin_user):
    """The sandbox's Audian account (500 USD) with a threshold of 100 USD; the balance rule
    the only one active; Fiona (Finance) had chosen not to receive it; mail goes to a real
    SMTP server on loopback."""
    balance = Rule.objects.get(kind=Rule.Kind.LOW_BALANCE)
    Rule.objects.exclude(pk=balance.pk).update(is_active=False)
    SubscriptionFactory(user=finance_user, rule=balance, subscribed=False)
    world = in_process(build_state(numbers=4, transactions=8, inventory=4))
    account = world.accounts["audian"]
    ProviderAccount.objects.filter(pk=account.pk).update(low_balance_threshold=THRESHOLD)
    with smtp_server() as inbox:
        use_smtp(settings, inbox)
        yield SimpleNamespace(world=world, account=account, rule=balance, inbox=inbox)


def sync_and_work(world, account):
    """A sync of the account, then the task worker: the evaluation the sync's hook queued,
    and the e-mails that queues."""
    run = sync_account(account, transport=world.transport)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")


def test_an_admin_subscribes_finance_who_sees_and_acknowledges_the_alert(
    page: Page, live_server, watch, javascript, phone, alerting, admin_user, finance_user
):
    base = live_server.url

    # The admin opens the rules from the menu and changes the balance rule.
    sign_in(page, base, admin_user)
    go_to(page, phone, "Alerts", "Alert rules")
    expect(page.get_by_role("heading", name="Alert rules", exact=True)).to_be_visible()
    rules = page.get_by_test_id("rule-row")
    rules.filter(has_text="Balance below threshold").get_by_role(
        "link", name="Balance below threshold", exact=True
    ).click()
    expect(page.get_by_role("heading", name="Balance below threshold")).to_be_visible()
    page.get_by_label("Remind").select_option(label="Hourly")
    fiona = page.get_by_role("checkbox", name=re.compile(r"^fiona-finance"))
    expect(fiona).not_to_be_checked()
    fiona.check()
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(f"{base}/alerts/rules/")
    expect(page.get_by_text("“Balance below threshold” saved.")).to_be_visible()
    row = page.get_by_test_id("rule-row").filter(has_text="Balance below threshold")
    expect(row).to_contain_text(re.compile("hourly", re.IGNORECASE))
    expect(row).to_contain_text("2 people")  # Ada and Fiona
    assert Subscription.objects.get(user=finance_user, rule=alerting.rule).subscribed
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ALERT_SETTINGS).count() == 2
    sign_out(page, phone, admin_user)

    # The balance falls under the threshold: the next sync finds it, one e-mail each.
    alerting.world.state.set_balance(alerting.world.upstream("audian"), "42.50")
    sync_and_work(alerting.world, alerting.account)
    (mail,) = alerting.inbox.to(finance_user.email)
    assert "42.50" in mail.text and "100.00" in mail.text
    alert = Alert.objects.get(rule=alerting.rule)
    assert alert.is_open

    # Fiona sees it on the dashboard and goes on to the history.
    sign_in(page, base, finance_user)
    open_alerts = page.get_by_test_id("open-alerts")
    expect(open_alerts.get_by_role("link", name=alert.summary)).to_be_visible()
    expect(open_alerts).to_contain_text("not acknowledged")
    page.get_by_role("link", name="Alert history", exact=True).click()
    expect(page).to_have_url(f"{base}/alerts/")
    expect(page.get_by_role("heading", name="Alert history", exact=True)).to_be_visible()
    page.wait_for_load_state("load")  # htmx has taken over the forms
    row = page.locator(f"[data-testid=alert-row][data-alert='{alert.pk}']")
    expect(row).to_contain_text(finance_user.email)

    if javascript:
        page.evaluate("window.sameDocument = true")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        row.get_by_role("button", name=re.compile(r"^Acknowledge")).click()
    expect(row.get_by_test_id("acknowledged")).to_contain_text("by fiona-finance")
    expect(page.get_by_text(ACKNOWLEDGED)).to_be_visible()
    expect(row.get_by_role("button", name=re.compile(r"^Acknowledge"))).to_have_count(0)
    if javascript:
        # htmx swapped the row's state alone, CSRF token in its headers; no page load.
        assert posted.value.request.headers.get("hx-request") == "true"
        assert posted.value.request.headers.get("x-csrftoken")
        assert page.evaluate("window.sameDocument") is True
    else:
        assert posted.value.status == 302
    expect(page).to_have_url(f"{base}/alerts/")
    alert.refresh_from_db()
    assert alert.acknowledged_by == finance_user

    # The alert's page: the e-mail to Fiona, sent at the first attempt.
    row.get_by_role("link", name=alert.summary).click()
    expect(page.get_by_test_id("alert-summary")).to_have_text(alert.summary)
    delivery = page.get_by_test_id("delivery").filter(has_text=f"E-mail to {finance_user.email}")
    expect(delivery.get_by_test_id("delivery-state")).to_have_text("Sent")
    expect(delivery.get_by_test_id("attempt")).to_have_count(1)
    expect(delivery.get_by_test_id("attempt")).to_contain_text("OK")
    expect(page.get_by_test_id("facts")).to_contain_text("42.50")

    # And the dashboard says who is on it.
    page.goto(f"{base}/")
    expect(page.get_by_test_id("open-alerts")).to_contain_text("acknowledged by fiona-finance")
    assert policy_violations(watch, javascript) == []


@pytest.fixture
def open_alert(live_server, db):
    return AlertFactory(
        rule=Rule.objects.get(kind=Rule.Kind.LOW_BALANCE),
        summary="Audian main: balance 42.50 USD is below the threshold of 100.00 USD",
    )


def test_snoozing_for_a_while_and_until_a_time_typed(
    page: Page, live_server, watch, console_errors, javascript, open_alert, finance_user
):
    base = live_server.url
    # Without JavaScript a refused snooze is the alert's page again, answered 400.
    console_errors.expect_status(400, f"/alerts/{open_alert.pk}/snooze/")
    sign_in(page, base, finance_user)
    page.goto(f"{base}/alerts/{open_alert.pk}/")
    page.wait_for_load_state("load")
    state = page.locator(f"#alert-{open_alert.pk}-state")

    # A time that has passed is refused beside the field, the menu left open.
    state.locator("summary").click()
    state.get_by_label("Until…").fill("2020-01-01T10:00")
    state.get_by_role("button", name="Snooze", exact=True).click()
    expect(state.get_by_text("Choose a time to come: this one has passed.")).to_be_visible()
    expect(state.get_by_label("Until…")).to_have_attribute("aria-invalid", "true")
    assert Alert.objects.get(pk=open_alert.pk).snoozed_until is None

    # For a day, with one click.
    before = timezone.now()
    state.get_by_role("button", name="For 1 day").click()
    expect(state.get_by_test_id("snoozed")).to_contain_text("snoozed until")
    expect(
        page.get_by_text(re.compile(r"Snoozed until .*: no reminder before then\."))
    ).to_be_visible()
    snoozed = Alert.objects.get(pk=open_alert.pk).snoozed_until
    assert before + timedelta(days=1) <= snoozed <= timezone.now() + timedelta(days=1)

    # Until a time typed, in the portal's time zone.
    until = (timezone.localtime() + timedelta(days=3)).replace(second=0, microsecond=0)
    state.locator("summary").click()
    state.get_by_label("Until…").fill(until.strftime("%Y-%m-%dT%H:%M"))
    state.get_by_role("button", name="Snooze", exact=True).click()
    expect(state.get_by_test_id("snoozed")).to_contain_text(until.strftime("%Y-%m-%d %H:%M"))
    assert Alert.objects.get(pk=open_alert.pk).snoozed_until == until
    assert policy_violations(watch, javascript) == []
