"""Getting around the portal in Chromium: a link in a table opens its own page (never inside
the list), the menus open without JavaScript at a desktop's and a phone's width, sign-out
included, and with JavaScript they close on Escape or a click or Tab elsewhere, work from the
keyboard and show where the focus is."""

import pytest
from playwright.sync_api import expect

from numbers.models import NumberOrder
from tests.support.browser import signed_in_without_javascript
from tests.support.factories import (
    PhoneNumberFactory,
    order_for,
    provider_account,
)

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def main_nav(page):
    return page.get_by_test_id("main-nav")


def menu(page, name):
    """A menu's toggle in the navigation bar: "Billing", or the user's name."""
    return page.locator("nav.navbar").get_by_text(name, exact=True)


def menu_toggle(page):
    """What holds the whole navigation on a phone."""
    return page.locator("nav.navbar .navbar-toggler")


def expect_number_page_alone(page, live_server, number):
    """The number's own page fills the window: its heading, its URL, one navigation bar and
    one footer, none of the page the link was on."""
    expect(page.get_by_role("heading", name=number.display_number, level=1)).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}{number.get_absolute_url()}")
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.locator("nav.navbar")).to_have_count(1)
    expect(page.locator("footer")).to_have_count(1)
    expect(page.locator("#list-filters")).to_have_count(0)


# --- Links in tables ------------------------------------------------------------------------


@pytest.fixture
def owned_number(db):
    account = provider_account("audian")
    number = PhoneNumberFactory(account=account, number="+14155550101")
    order_for(number, state=NumberOrder.State.COMPLETED)
    return number


def test_a_number_in_the_list_opens_its_own_page(log_in, support_user, live_server, owned_number):
    page = log_in(support_user)
    main_nav(page).get_by_role("link", name="Numbers", exact=True).click()
    page.wait_for_load_state("load")  # htmx has taken over the table

    page.locator("#table tbody").get_by_role("link", name=owned_number.display_number).click()

    expect_number_page_alone(page, live_server, owned_number)

    # The table's own links still swap only the table.
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/numbers/")
    page.wait_for_load_state("load")
    with page.expect_request(lambda request: "sort=" in request.url) as sorted_by:
        page.locator("#table thead").get_by_role("link", name="Number").click()
    assert sorted_by.value.headers.get("hx-target") == "table"
    expect(page.locator("nav.navbar")).to_have_count(1)


def test_a_number_in_the_orders_opens_its_own_page(log_in, support_user, live_server, owned_number):
    page = log_in(support_user)
    main_nav(page).get_by_role("link", name="Orders").click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    page.wait_for_load_state("load")

    page.locator("#table tbody").get_by_role("link", name=owned_number.display_number).click()

    expect_number_page_alone(page, live_server, owned_number)


# --- Without JavaScript, at every width -----------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_and_sign_out_are_reached_without_javascript(
    browser, live_server, finance_user, viewport
):
    with signed_in_without_javascript(
        browser, live_server.url, finance_user, viewport=viewport
    ) as page:
        expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()

        def open_navigation():
            """On a phone the navigation sits behind its Menu toggle; on a desktop it shows."""
            toggle = menu_toggle(page)
            if viewport is PHONE:
                expect(main_nav(page)).to_be_hidden()
                toggle.click()
            else:
                expect(toggle).to_be_hidden()
            expect(main_nav(page)).to_be_visible()

        open_navigation()
        service_plans = main_nav(page).get_by_role("link", name="Service plans")
        expect(service_plans).to_be_hidden()
        menu(page, "Billing").click()
        service_plans.click()
        expect(page.get_by_role("heading", name="Service plans", exact=True)).to_be_visible()
        expect(page).to_have_url(f"{live_server.url}/billing/plans/")

        open_navigation()
        sign_out = page.get_by_role("button", name="Sign out")
        expect(sign_out).to_be_hidden()
        menu(page, finance_user.username).click()
        sign_out.click()
        expect(page).to_have_url(f"{live_server.url}/login/")
        expect(page.get_by_text("You are signed out.")).to_be_visible()


# --- With JavaScript: closing, the keyboard and the focus ring --------------------------------


def relative_luminance(rgb: str) -> float:
    """WCAG's relative luminance of a computed colour, "rgb(r, g, b)"."""
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1 : -1].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted(map(relative_luminance, (first, second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.browser_context_args(viewport=DESKTOP)
def test_menus_close_on_escape_and_outside_click_and_show_the_focus(log_in, finance_user):
    page = log_in(finance_user)
    billing = menu(page, "Billing")
    transactions = main_nav(page).get_by_role("link", name="Transactions")

    # The keyboard: Tab reaches the toggle, Enter opens, Escape closes and keeps the focus.
    billing.focus()
    page.keyboard.press("Enter")
    expect(transactions).to_be_visible()
    page.keyboard.press("Tab")
    expect(transactions).to_be_focused()
    page.keyboard.press("Escape")
    expect(transactions).to_be_hidden()
    expect(billing).to_be_focused()

    # The focus ring: a solid outline that stands out from the dark bar (WCAG's 3:1).
    ring = billing.evaluate(
        """(summary) => {
            const style = getComputedStyle(summary);
            const bar = getComputedStyle(summary.closest(".navbar"));
            return {style: style.outlineStyle, width: parseFloat(style.outlineWidth),
                    colour: style.outlineColor, bar: bar.backgroundColor};
        }"""
    )
    assert ring["style"] == "solid" and ring["width"] >= 2, ring
    assert contrast(ring["colour"], ring["bar"]) >= 3, ring

    # Tabbing on past the menu's last link closes it.
    page.keyboard.press("Enter")
    expect(transactions).to_be_visible()
    for _ in range(5):
        page.keyboard.press("Tab")
    expect(main_nav(page).get_by_role("link", name="Sync")).to_be_focused()
    expect(transactions).to_be_hidden()

    # One menu at a time, and a click elsewhere closes it.
    billing.click()
    expect(transactions).to_be_visible()
    user_menu = menu(page, finance_user.username)
    user_menu.click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(transactions).to_be_hidden()
    page.get_by_role("heading", name="Dashboard", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()


@pytest.mark.browser_context_args(viewport=PHONE)
def test_the_phone_menu_opens_and_closes_with_javascript(log_in, finance_user):
    page = log_in(finance_user)
    toggle = menu_toggle(page)

    expect(main_nav(page)).to_be_hidden()
    toggle.click()
    expect(main_nav(page)).to_be_visible()
    menu(page, "Billing").click()
    expect(main_nav(page).get_by_role("link", name="Balances")).to_be_visible()
    page.keyboard.press("Escape")  # closes the Billing menu first
    expect(main_nav(page).get_by_role("link", name="Balances")).to_be_hidden()
    expect(main_nav(page)).to_be_visible()
    page.keyboard.press("Escape")
    expect(main_nav(page)).to_be_hidden()
    expect(toggle).to_be_focused()
