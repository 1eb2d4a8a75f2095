"""What each role sees and may open, driven through a real browser: login and sign-out, the
main navigation, the dashboard panels and the phone layout. The numbers list has its own
browser tests in test_number_list_in_browser.py."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from numbers.models import PhoneNumber
from tests.support.factories import (
    BalanceSnapshotFactory,
    PhoneNumberFactory,
    TransactionFactory,
    audian_and_vobiz,
)


def path_and_query(url):
    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query)


SUPPORT_NAV = ["Dashboard", "Numbers", "Buy numbers", "Orders", "Idle numbers", "Sync", "Alerts"]
FINANCE_NAV = ["Dashboard", "Numbers", "Orders", "Idle numbers", "Billing", "Sync", "Alerts"]
BILLING_NAV = ["Transactions", "Balances", "Spend", "Service plans"]


def nav_links(page):
    """The main navigation's entries: its links and the toggles of its menus."""
    return page.get_by_test_id("main-nav").locator(
        ":scope > li > .nav-link, :scope > li > details > .nav-link"
    )


def open_billing_menu(page):
    """Open the Billing menu; returns its links."""
    nav_links(page).filter(has_text="Billing").click()
    menu = page.get_by_test_id("main-nav").locator("details[open] > .dropdown-menu")
    expect(menu).to_be_visible()
    return menu.get_by_role("link")


def admin_links(page):
    """Links into Django admin anywhere on the page, shown or collapsed."""
    return page.locator('a[href^="/admin/"]')


# --- Anonymous visitors ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/numbers/", "/billing/transactions/"])
def test_anonymous_visitor_is_sent_to_the_login_page(page, live_server, path):
    page.goto(f"{live_server.url}{path}")

    assert path_and_query(page.url) == ("/login/", {"next": [path]})
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("#id_password")).to_be_visible()
    expect(page.get_by_test_id("main-nav")).to_have_count(0)


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(
    page, live_server, submit_login_form, support_user
):
    page.goto(f"{live_server.url}/login/")
    submit_login_form(support_user.username, "not-the-password")

    expect(page.get_by_role("alert")).to_contain_text(
        "Please enter a correct username and password"
    )
    assert path_and_query(page.url)[0] == "/login/"
    expect(page.locator("#id_username")).to_have_value(support_user.username)
    expect(page.get_by_test_id("main-nav")).to_have_count(0)


def test_signing_in_from_a_redirect_returns_to_the_page_asked_for(
    page, live_server, submit_login_form, support_user
):
    page.goto(f"{live_server.url}/numbers/")
    submit_login_form(support_user.username)

    expect(page).to_have_url(f"{live_server.url}/numbers/")
    expect(page.get_by_role("heading", name="Numbers", exact=True)).to_be_visible()


# --- Roles: navigation and what opens -------------------------------------------------------


def test_support_sees_numbers_but_may_not_open_transactions(
    log_in, support_user, live_server, console_errors
):
    page = log_in(support_user)

    expect(nav_links(page)).to_have_text(SUPPORT_NAV)
    expect(admin_links(page)).to_have_count(0)
    # At desktop width the navigation is open, with no Menu toggle.
    expect(page.get_by_test_id("menu-toggle")).to_be_hidden()

    console_errors.expect_status(403, "/billing/transactions/")
    response = page.goto(f"{live_server.url}/billing/transactions/")

    assert response.status == 403
    expect(page.get_by_role("heading", name="You may not open this page")).to_be_visible()
    expect(nav_links(page)).to_have_text(SUPPORT_NAV)


def test_finance_sees_transactions_but_not_the_admin(
    log_in, finance_user, live_server, console_errors
):
    page = log_in(finance_user)

    expect(nav_links(page)).to_have_text(FINANCE_NAV)
    expect(admin_links(page)).to_have_count(0)

    billing = open_billing_menu(page)
    expect(billing).to_have_text(BILLING_NAV)
    billing.filter(has_text="Transactions").click()
    expect(page).to_have_url(f"{live_server.url}/billing/transactions/")
    expect(page.get_by_role("heading", name="Transactions", exact=True)).to_be_visible()

    # Django admin's pages link no icon, so Chromium asks for /favicon.ico.
    console_errors.expect_status(404, "/favicon.ico")
    response = page.goto(f"{live_server.url}/admin/")

    assert path_and_query(page.url) == ("/admin/login/", {"next": ["/admin/"]})
    assert response.status == 200
    expect(page.get_by_text("not authorized to access this page")).to_be_visible()
    expect(page.get_by_role("heading", name="Site administration")).to_have_count(0)


def test_admin_sees_every_section_and_opens_django_admin(
    log_in, admin_user, live_server, console_errors
):
    page = log_in(admin_user)

    expect(nav_links(page)).to_have_text(
        [
            "Dashboard",
            "Numbers",
            "Buy numbers",
            "Orders",
            "Idle numbers",
            "Billing",
            "Sync",
            "Alerts",
            "Admin",
        ]
    )

    console_errors.expect_status(404, "/favicon.ico")  # as above: admin pages link no icon
    nav_links(page).filter(has_text="Admin").click()

    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


# --- Dashboard ------------------------------------------------------------------------------


def create_holdings():
    """Two providers: Audian with 2 active and 1 suspended USD numbers, Vobiz with 1 active
    INR number; balances (Audian's older one superseded) and a transaction for each."""
    audian, vobiz = audian_and_vobiz()
    PhoneNumberFactory.create_batch(2, account=audian)
    PhoneNumberFactory(account=audian, status=PhoneNumber.Status.SUSPENDED)
    PhoneNumberFactory(account=vobiz, number="+912261234567", country="IN")
    BalanceSnapshotFactory(
        account=audian, balance=Decimal("80.0000"), taken_at=timezone.now() - timedelta(days=1)
    )
    BalanceSnapshotFactory(account=audian, balance=Decimal("150.0000"))
    BalanceSnapshotFactory(account=vobiz, balance=Decimal("12500.5000"))
    TransactionFactory(account=audian)
    TransactionFactory(account=vobiz, amount=Decimal("499.0000"))


def expect_numbers_by_provider(page):
    table = page.get_by_test_id("numbers-by-provider")
    expect(table.locator("thead th")).to_have_text(
        ["Provider", "Active", "Pending", "Suspended", "Released", "Total"]
    )
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("th, td")).to_have_text(["Audian", "2", "0", "1", "0", "3"])
    expect(rows.nth(1).locator("th, td")).to_have_text(["Vobiz", "1", "0", "0", "0", "1"])


def test_support_dashboard_counts_numbers_per_provider(log_in, support_user):
    create_holdings()

    page = log_in(support_user)

    expect_numbers_by_provider(page)
    expect(page.get_by_test_id("latest-balances")).to_have_count(0)
    expect(page.get_by_test_id("empty-state")).to_have_count(0)


def test_finance_dashboard_shows_latest_balances(log_in, finance_user):
    create_holdings()

    page = log_in(finance_user)

    expect_numbers_by_provider(page)
    balances = page.get_by_test_id("latest-balances").get_by_role("listitem")
    expect(balances).to_have_count(2)
    expect(balances.nth(0)).to_contain_text("Audian main")
    expect(balances.nth(0)).to_contain_text("150.00 USD")
    expect(balances.nth(0)).not_to_contain_text("80.00")
    expect(balances.nth(1)).to_contain_text("Vobiz India")
    expect(balances.nth(1)).to_contain_text("12,500.50 INR")


def test_dashboard_without_accounts_shows_the_empty_state(log_in, support_user):
    page = log_in(support_user)

    expect(page.get_by_test_id("empty-state")).to_contain_text("No provider accounts yet")
    expect(page.get_by_test_id("numbers-by-provider")).to_have_count(0)


# --- Sign out and small screens -------------------------------------------------------------


def test_sign_out_from_the_user_menu(log_in, support_user, live_server):
    page = log_in(support_user)

    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_text("You are signed out.")).to_be_visible()

    page.goto(f"{live_server.url}/numbers/")
    assert path_and_query(page.url) == ("/login/", {"next": ["/numbers/"]})


@pytest.mark.browser_context_args(viewport={"width": 390, "height": 844})
def test_phone_width_collapses_the_navigation_behind_the_toggler(log_in, finance_user):
    page = log_in(finance_user)
    toggler = page.get_by_test_id("menu-toggle")  # the <summary> of the navigation
    navigation = page.locator("details.site-menu")
    links = nav_links(page)

    expect(toggler).to_be_visible()
    expect(navigation).to_have_js_property("open", False)
    expect(links).to_have_count(len(FINANCE_NAV))
    for link in links.all():
        expect(link).to_be_hidden()

    toggler.click()

    expect(navigation).to_have_js_property("open", True)
    for link in links.all():
        expect(link).to_be_visible()
    expect(nav_links(page)).to_have_text(FINANCE_NAV)
