"""Searching and buying numbers in Chromium, against the four sandbox providers on loopback:
results side by side with a failing provider's error above them, one purchase per
confirmation however often it is sent, refusals shown at the number, an unknown outcome
settled by "Check again", the same without JavaScript, and Finance kept out."""

import re

from playwright.sync_api import expect

from numbers.models import NumberOrder, PhoneNumber
from portal.providers.sandbox import build_app
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from tests.support.browser import result_rows, signed_in_without_javascript
from tests.support.market import with_fault_on_writes

NUMBER_PAGE = re.compile(r"/numbers/\d+/$")


def search(page, live_server, country="US"):
    """Open "Buy numbers" from the navigation and search one country."""
    page.get_by_test_id("main-nav").get_by_role("link", name="Buy numbers").click()
    expect(page).to_have_url(f"{live_server.url}/numbers/buy/")
    page.get_by_label("Country").select_option(country)
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(rf"country={country}"))
    expect(page.get_by_test_id("search-results")).to_be_visible()


def open_buy_dialog(page, provider):
    """Press Buy on the provider's first offer; returns the dialog and the number (E.164)."""
    row = result_rows(page, provider).first
    number = row.get_attribute("data-number")
    row.get_by_role("link", name=re.compile("^Buy ")).click()
    dialog = page.locator("#buy-dialog")
    expect(dialog).to_be_visible()
    return dialog, number


def test_search_shows_every_provider_and_a_failing_one_says_why(
    log_in, support_user, live_server, market
):
    with SandboxThread(build_app(market.state, FaultConfig(rate=1.0, retry_after="0"))) as bad:
        market.point("ravan", bad)
        page = log_in(support_user)
        search(page, live_server)

        error = page.get_by_test_id("provider-error")
        expect(error).to_have_count(1)
        expect(error).to_contain_text("Ravan · Ravan voice agents")
        for provider in ("audian", "tryvox", "vobiz"):
            expect(result_rows(page, provider).first).to_be_visible()
        expect(result_rows(page, "ravan")).to_have_count(0)
        expect(result_rows(page, "vobiz").first).to_contain_text("INR")
        expect(result_rows(page, "audian").first).to_contain_text("USD")

    market.point("ravan", market.url)
    page.get_by_role("link", name="Monthly").click()  # sorting searches again
    expect(page).to_have_url(re.compile(r"sort=-monthly"))
    expect(page.get_by_test_id("provider-error")).to_have_count(0)
    for provider in ("audian", "ravan", "tryvox", "vobiz"):
        expect(result_rows(page, provider).first).to_be_visible()


def test_a_double_click_and_a_resubmitted_form_buy_the_number_once(
    log_in, support_user, live_server, market
):
    page = log_in(support_user)
    search(page, live_server)
    dialog, number = open_buy_dialog(page, "audian")

    expect(dialog.get_by_test_id("buy-summary")).to_contain_text("Audian sandbox")
    expect(dialog.get_by_test_id("balance-before")).to_have_text("500.00 USD")
    expect(dialog.get_by_test_id("balance-after")).to_have_text("499.01 USD")
    dialog.get_by_label("Label").fill("Acme front desk")
    form = dialog.get_by_test_id("buy-form")
    sent = {
        name: form.locator(f"input[name={name}]").input_value()
        for name in ("csrfmiddlewaretoken", "offer", "idempotency_key", "label")
    }

    dialog.get_by_role("button", name="Confirm purchase").dblclick()

    expect(page).to_have_url(NUMBER_PAGE)
    owned = PhoneNumber.objects.get(number=number)
    assert page.url == f"{live_server.url}{owned.get_absolute_url()}"
    expect(page.get_by_role("alert").filter(has_text="Bought")).to_be_visible()
    expect(page.get_by_text("Acme front desk").first).to_be_visible()

    # The same confirmation sent again, as a browser resending the form would.
    again = page.request.post(f"{live_server.url}/numbers/buy/confirm/", form=sent)
    assert again.url == f"{live_server.url}{owned.get_absolute_url()}"

    assert market.purchases("audian") == 1
    assert NumberOrder.objects.get().state == NumberOrder.State.COMPLETED
    assert (owned.status, owned.label) == (PhoneNumber.Status.ACTIVE, "Acme front desk")


def test_no_credit_and_a_taken_number_are_said_at_the_number(
    log_in, support_user, live_server, market
):
    market.state.set_balance(market.upstream("tryvox"), "1")
    page = log_in(support_user)
    search(page, live_server)

    dialog, poor = open_buy_dialog(page, "tryvox")
    dialog.get_by_role("button", name="Confirm purchase").click()
    expect(dialog.get_by_test_id("purchase-error")).to_have_text(
        "Not enough credit on TryVox global: balance 1.00 USD, needed 1.25 USD."
    )
    dialog.get_by_role("button", name="Close").last.click()
    expect(dialog).to_be_hidden()

    dialog, taken = open_buy_dialog(page, "ravan")
    market.take_upstream("ravan", taken)  # someone else is quicker
    dialog.get_by_role("button", name="Confirm purchase").click()
    expect(dialog.get_by_test_id("purchase-error")).to_have_text(
        "This number was just taken: choose another one."
    )

    assert not PhoneNumber.objects.filter(number__in=[poor, taken]).exists()
    assert market.purchases("tryvox") == market.purchases("ravan") == 0


def test_an_unknown_outcome_is_settled_by_check_again(log_in, support_user, live_server, market):
    with SandboxThread(with_fault_on_writes(build_app(market.state), "drop-after-apply")) as flaky:
        market.point("audian", flaky)
        page = log_in(support_user)
        search(page, live_server)
        dialog, number = open_buy_dialog(page, "audian")
        dialog.get_by_label("Label").fill("Night line")
        dialog.get_by_role("button", name="Confirm purchase").click()

        expect(dialog.get_by_test_id("purchase-unknown")).to_contain_text(
            "Audian did not confirm the purchase"
        )
    assert NumberOrder.objects.get().state == NumberOrder.State.UNKNOWN
    assert not PhoneNumber.objects.filter(number=number).exists()

    market.point("audian", market.url)
    dialog.get_by_role("button", name="Check again").click()

    expect(page).to_have_url(NUMBER_PAGE)
    owned = PhoneNumber.objects.get(number=number)
    assert page.url == f"{live_server.url}{owned.get_absolute_url()}"
    expect(page.get_by_text("Night line").first).to_be_visible()
    assert NumberOrder.objects.get().state == NumberOrder.State.COMPLETED
    assert market.purchases("audian") == 1


def test_buying_works_without_javascript(browser, live_server, support_user, market):
    with signed_in_without_javascript(browser, live_server.url, support_user) as page:
        page.goto(f"{live_server.url}/numbers/buy/?country=US")
        row = result_rows(page, "tryvox").first
        number = row.get_attribute("data-number")

        row.get_by_role("link", name=re.compile("^Buy ")).click()
        expect(page).to_have_url(re.compile(r"/numbers/buy/confirm/\?offer="))
        page.get_by_label("Label").fill("Plain HTML")
        page.get_by_role("button", name="Confirm purchase").click()

        expect(page).to_have_url(NUMBER_PAGE)
        owned = PhoneNumber.objects.get(number=number)
        assert page.url == f"{live_server.url}{owned.get_absolute_url()}"
        assert owned.label == "Plain HTML"
        assert market.purchases("tryvox") == 1


def test_finance_sees_no_buying_and_gets_403_posting_to_it(
    log_in, finance_user, live_server, market, console_errors
):
    order = NumberOrder.objects.create(
        idempotency_key="0b6f7f0e-1f35-4a4e-9c55-3f7e2b6c9d11",
        account=market.accounts["audian"],
        number="+14155550100",
        currency="USD",
        state=NumberOrder.State.UNKNOWN,
        error_message="Audian did not confirm the purchase.",
    )
    page = log_in(finance_user)

    expect(page.get_by_test_id("main-nav").get_by_role("link", name="Buy numbers")).to_have_count(0)
    page.get_by_test_id("main-nav").get_by_role("link", name="Orders").click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    expect(page.locator("#table tbody tr")).to_contain_text(["+1 415-555-0100"])
    expect(page.locator("#table tbody tr .badge")).to_have_text(["Unknown"])
    expect(page.get_by_role("button", name=re.compile("Check again"))).to_have_count(0)
    expect(page.get_by_role("link", name="Buy numbers")).to_have_count(0)

    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": token}
    for path in ("/numbers/buy/confirm/", f"/numbers/orders/{order.pk}/check/"):
        response = page.request.post(f"{live_server.url}{path}", headers=headers, form={})
        assert response.status == 403, path
    console_errors.expect_status(403, "/numbers/buy/")
    assert page.goto(f"{live_server.url}/numbers/buy/").status == 403
    order.refresh_from_db()
    assert order.state == NumberOrder.State.UNKNOWN
    assert market.purchases("audian") == 0
