"""Every main page under the portal's Content Security Policy, in Chromium: an admin walks
them with data synced from the sandbox, htmx swaps and posts, the spend chart draws, and the
browser reports no violation of the policy, neither as a console message nor as a
`securitypolicyviolation` event."""

import re

import pytest
from playwright.sync_api import expect

from numbers.models import PhoneNumber
from portal.providers.sandbox import build_state
from tests.support.browser import CSP_MESSAGE, PolicyWatch, drawn_chart
from tests.support.world import World, serve, sync_every_account


@pytest.fixture
def world(live_server):
    state = build_state(numbers=6, transactions=30, inventory=4)
    with serve(state) as url:
        yield sync_every_account(World(state, url))


def test_every_main_page_works_under_the_policy(log_in, admin_user, live_server, world):
    page = log_in(admin_user)
    watch = PolicyWatch(page)
    base = live_server.url
    number = PhoneNumber.objects.filter(account=world.accounts["audian"]).order_by("number")[0]

    watch.visit(f"{base}/")
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.get_by_test_id("numbers-by-provider")).to_be_visible()
    # Bootstrap's JavaScript (the user menu) runs.
    page.get_by_test_id("user-menu").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # The numbers list: a filter swaps the table through htmx, without a page load.
    watch.visit(f"{base}/numbers/")
    page.evaluate("window.sameDocument = true")
    with page.expect_response(lambda r: "provider=vobiz" in r.url) as swapped:
        page.get_by_label("Provider").select_option("vobiz")
    assert swapped.value.request.headers.get("hx-request") == "true"
    expect(page).to_have_url(re.compile(r"provider=vobiz"))
    expect(page.locator("#table tbody td.number").first).to_be_visible()
    assert page.evaluate("window.sameDocument") is True

    # A number's page: the inline label edit posts through htmx, with the CSRF token
    # base.html gives htmx in hx-headers.
    watch.visit(f"{base}{number.get_absolute_url()}")
    page.get_by_test_id("edit-label").click()
    field = page.get_by_test_id("label").get_by_role("textbox", name="Portal label")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        field.fill("Night line")
        field.press("Enter")
    assert posted.value.status == 200
    assert posted.value.request.headers.get("x-csrftoken")
    expect(page.get_by_test_id("label-text")).to_have_text("Night line")
    number.refresh_from_db()
    assert number.label == "Night line"

    # Buying: a search across the sandbox providers, and the confirmation dialog (htmx).
    watch.visit(f"{base}/numbers/buy/")
    page.get_by_label("Country").select_option("US")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_test_id("search-results")
    expect(results).to_be_visible()
    results.locator("tbody tr[data-provider=audian]").first.get_by_role(
        "link", name=re.compile("^Buy ")
    ).click()
    expect(page.locator("#buy-dialog")).to_be_visible()
    expect(page.get_by_test_id("buy-form")).to_be_visible()

    watch.visit(f"{base}/numbers/orders/")
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()

    watch.visit(f"{base}/billing/transactions/")
    expect(page.get_by_role("heading", name="Transactions", exact=True)).to_be_visible()
    expect(page.locator("#table tbody tr").first).to_be_visible()

    # The spend report: Chart.js draws every currency's chart.
    watch.visit(f"{base}/billing/spend/")
    charts = page.get_by_test_id("spend-currency").locator("canvas")
    expect(charts.first).to_be_visible()
    for index in range(charts.count()):
        assert drawn_chart(page, charts.nth(index).element_handle())["painted"] > 1000

    watch.visit(f"{base}/billing/balances/")
    expect(page.get_by_role("heading", name="Balances", exact=True)).to_be_visible()

    watch.visit(f"{base}/billing/plans/")
    expect(page.get_by_role("heading", name="Service plans", exact=True)).to_be_visible()

    # Sync runs: "Sync all accounts now" is an htmx POST that swaps in the progress.
    watch.visit(f"{base}/sync/")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_test_id("sync-all").click()
    assert posted.value.request.headers.get("x-csrftoken")
    expect(page.get_by_test_id("sync-progress").get_by_text("Queued")).to_have_count(4)

    # Django admin: its own scripts and styles, the account form and the audit log.
    watch.visit(f"{base}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    watch.visit(f"{base}/admin/portal/provideraccount/{world.accounts['audian'].pk}/change/")
    expect(page.get_by_label("New API secret")).to_be_visible()
    watch.visit(f"{base}/admin/portal/auditevent/")
    expect(page.locator("#result_list")).to_contain_text("Label change")
    watch.visit(f"{base}/admin/numbers/phonenumber/{number.pk}/change/")
    expect(page.get_by_label("Label")).to_have_value("Night line")

    assert watch.gather() == []


def test_the_watch_sees_what_the_policy_blocks(log_in, admin_user, console_errors):
    """The checks above can fail: an inline script and an inline style are blocked, and
    both the console and the event report them."""
    page = log_in(admin_user)
    watch = PolicyWatch(page)
    watch.visit(page.url)

    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.body.append(script);
            document.body.setAttribute("style", "background: red");
        }"""
    )
    page.wait_for_function("window.cspViolations.length >= 2")

    assert page.evaluate("window.inlineRan") is None
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 0, 0)"
    violations = watch.gather()
    assert any(v.startswith("script-src-elem blocked inline") for v in violations), violations
    assert any(v.startswith("style-src-attr blocked inline") for v in violations), violations
    assert any(CSP_MESSAGE.search(message) for message in watch.messages)
    # Expected here, so not the console errors every browser test fails on.
    console_errors.collected()
    console_errors.errors[:] = [e for e in console_errors.errors if not CSP_MESSAGE.search(e)]
