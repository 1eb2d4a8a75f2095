"""Usage in Chromium: a number's page shows its calls, cost and monthly chart (the table alone
without JavaScript, at a phone's width too), and Finance finds the idle numbers from the
navigation, narrows them to a provider and downloads them as CSV."""

import csv
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from numbers.selectors.usage import today
from tests.support.browser import drawn_chart, signed_in_without_javascript
from tests.support.factories import PhoneNumberFactory, calls_on, calls_synced, provider_account

PHONE = {"width": 390, "height": 844}
LONG_AGO = timezone.now() - timedelta(days=400)


@pytest.fixture
def usage(live_server):
    """A busy Audian number with calls over the last months, and idle numbers at Audian
    and Vobiz: the accounts' call records synced."""
    audian = calls_synced(provider_account("audian", name="Audian main"))
    vobiz = calls_synced(provider_account("vobiz", name="Vobiz India", currency="INR"))
    busy = PhoneNumberFactory(account=audian, number="+14155550100", purchased_at=LONG_AGO)
    for days, calls in ((2, 4), (40, 6), (80, 3)):
        calls_on(busy, today() - timedelta(days=days), calls=calls, cost="0.2500", unpriced=1)
    idle = {
        "audian": PhoneNumberFactory(
            account=audian, number="+14155550101", label="Spare", purchased_at=LONG_AGO
        ),
        "vobiz": PhoneNumberFactory(
            account=vobiz,
            number="+912261234567",
            monthly_fee=Decimal("499.0000"),
            purchased_at=LONG_AGO,
        ),
    }
    return {"busy": busy, **idle}


def test_the_number_page_shows_its_usage_with_a_chart(log_in, finance_user, live_server, usage):
    page = log_in(finance_user)
    page.goto(f"{live_server.url}{usage['busy'].get_absolute_url()}")
    section = page.get_by_test_id("usage")
    windows = section.get_by_test_id("usage-window")
    expect(windows.nth(0)).to_contain_text("4 calls")
    expect(windows.nth(2)).to_contain_text("13 calls")
    expect(windows.nth(2)).to_contain_text("0.75 USD")
    expect(windows.nth(2)).to_contain_text("3 calls not priced yet")
    expect(section.get_by_test_id("last-call")).to_contain_text(
        (today() - timedelta(days=2)).isoformat()
    )
    box = section.locator(".chart-box")
    expect(box).to_be_visible()
    drawn = drawn_chart(page, box.locator("canvas").element_handle())
    assert sum(drawn["datasets"][0]) == 13
    assert drawn["painted"] > 100


def test_without_javascript_at_a_phone_width_the_usage_is_its_table(
    browser, live_server, finance_user, usage
):
    with signed_in_without_javascript(
        browser, live_server.url, finance_user, viewport=PHONE
    ) as page:
        page.goto(f"{live_server.url}{usage['busy'].get_absolute_url()}")
        section = page.get_by_test_id("usage")
        expect(section.locator(".chart-box")).to_be_attached()
        expect(section.locator(".chart-box:visible")).to_have_count(0)
        expect(section.get_by_test_id("usage-months")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide"


def test_finance_finds_idle_numbers_from_the_menu_filters_and_exports_them(
    log_in, finance_user, live_server, usage, tmp_path
):
    page = log_in(finance_user)
    page.get_by_test_id("main-nav").get_by_role("link", name="Idle numbers").click()
    expect(page.get_by_role("heading", name="Idle numbers", exact=True)).to_be_visible()
    table = page.locator("#table")
    expect(table.get_by_test_id("idle-total")).to_have_count(2)  # USD and INR apart
    expect(table).not_to_contain_text(usage["busy"].display_number)

    page.wait_for_load_state("load")  # htmx has taken over the filters
    with page.expect_response(lambda response: response.request.headers.get("hx-request")):
        page.get_by_label("Provider", exact=True).select_option("vobiz")
    expect(page).to_have_url(re.compile(r"/numbers/idle/\?idle_days=60&provider=vobiz(&|$)"))
    expect(table.get_by_test_id("idle-total")).to_have_count(1)
    expect(table.get_by_test_id("total-fees")).to_have_text("499.00 INR")
    expect(table).not_to_contain_text(usage["audian"].display_number)

    with page.expect_download() as download:
        table.get_by_test_id("exports").get_by_role("link", name="CSV").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("idle-numbers-")
    rows = list(csv.DictReader(saved.open(encoding="utf-8-sig")))
    assert [(row["Number"], row["Monthly"], row["Currency"]) for row in rows] == [
        ("+912261234567", "499.00", "INR")
    ]


def test_idle_numbers_at_a_phone_width_fit_and_their_menu_entry_opens(
    log_in, support_user, live_server, usage, page
):
    page.set_viewport_size(PHONE)
    log_in(support_user)
    page.get_by_test_id("menu-toggle").click()
    page.get_by_test_id("main-nav").get_by_role("link", name="Idle numbers").click()
    expect(page.get_by_role("heading", name="Idle numbers", exact=True)).to_be_visible()
    expect(page.get_by_test_id("idle-group")).to_have_count(2)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"
