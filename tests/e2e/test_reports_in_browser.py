"""Finance's billing pages in Chromium, on data synced from the sandbox: the spend chart is
drawn and agrees with its table, which agrees with the report; a new breakdown swaps in
with its own chart; a drained account warns on the dashboard and the balances page; the
service plans synced from Audian show; phones get the same without scrolling sideways."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.selectors.months import MonthRange, this_month
from billing.selectors.spend import spend_by_month
from portal.models import ProviderAccount
from portal.money import format_money as money
from portal.providers.sandbox import build_state
from portal.roles import SUPPORT
from portal.services.sync import sync_account
from tests.support.browser import drawn_chart, signed_in_without_javascript
from tests.support.factories import grant
from tests.support.world import World, buy_until, serve, sync_every_account


@pytest.fixture
def world(live_server):
    state = build_state(numbers=8, transactions=40, inventory=10)
    with serve(state) as url:
        yield sync_every_account(World(state, url))


def open_billing_page(page, name):
    page.get_by_test_id("main-nav").get_by_text("Billing", exact=True).click()
    page.get_by_test_id("main-nav").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    # Until the document has loaded, htmx has not taken over the page's forms.
    page.wait_for_load_state("load")


def expect_charts_match_tables_and_report(page, report):
    sections = page.get_by_test_id("spend-currency")
    expect(sections).to_have_count(len(report.currencies))
    for index, spend in enumerate(report.currencies):
        section = sections.nth(index)
        expect(section).to_have_attribute("data-currency", spend.currency)
        # The table, the source of truth, shows the report's figures to the last decimal.
        expect(section.get_by_test_id("month-spend")).to_have_text(
            # The amount, then at most an "estimated" note: never more digits.
            [
                re.compile(rf"^{re.escape(money(month.spend.amount))}(?![\d.,])")
                for month in spend.months
            ]
        )
        expect(section.get_by_test_id("period-total")).to_have_text(money(spend.total.amount))
        # The chart stacks up to each month's total.
        chart = drawn_chart(page, section.locator("canvas").element_handle())
        assert chart["painted"] > 1000, "the canvas is blank"
        stacks = [sum(values) for values in zip(*chart["datasets"], strict=True)]
        totals = [float(month.spend.amount) for month in spend.months]
        assert stacks == pytest.approx(totals)
        names = {group.name for group in spend.groups[:6]}
        legend = page.evaluate(
            "canvas => Chart.getChart(canvas).data.datasets.map(d => d.label)",
            section.locator("canvas").element_handle(),
        )
        assert all(any(label.startswith(name) for label in legend) for name in names)


def test_the_spend_chart_is_drawn_and_agrees_with_its_table_and_the_report(
    log_in, finance_user, live_server, world
):
    page = log_in(finance_user)
    open_billing_page(page, "Spend")
    period = MonthRange.ending(this_month(), 12)

    expect_charts_match_tables_and_report(page, spend_by_month(period, "provider"))
    # Ravan and TryVox have no billing API: their rentals are estimated, and say so. Ravan's
    # calls (this world has some; TryVox's none) are actual cost beside them.
    usd = page.locator("[data-testid=spend-currency][data-currency=USD]")
    expect(usd.locator("[data-testid=spend-group][data-key=ravan] .badge")).to_have_text(
        "incl. estimated"
    )
    expect(usd.locator("[data-testid=spend-group][data-key=tryvox] .badge")).to_have_text(
        "estimated"
    )
    ravan_calls = usd.locator("[data-testid=spend-calls-group][data-key=ravan]")
    expect(ravan_calls).to_be_visible()
    (ravan,) = [
        group
        for spend in spend_by_month(period, "provider").currencies
        for group in spend.groups
        if group.key == "ravan"
    ]
    assert ravan.calls > 0
    expect(ravan_calls.locator("td").first).to_have_text(str(ravan.calls))
    expect(usd.get_by_test_id("spend-calls-note")).to_contain_text(
        "For providers without one (Ravan, Tryvox) it is added to spend"
    )

    with page.expect_response(re.compile(r"by=label")) as swapped:
        page.get_by_label("Break down by").select_option("label")
    assert swapped.value.request.headers.get("hx-request") == "true"
    expect(page).to_have_url(re.compile(r"[?&]by=label(&|$)"))
    report = spend_by_month(period, "label")
    expect_charts_match_tables_and_report(page, report)
    usd = next(spend for spend in report.currencies if spend.currency == "USD")
    breakdown = page.locator("[data-currency=USD] [data-testid=spend-group] th")
    expect(breakdown).to_have_count(len(usd.groups))
    expect(breakdown.first).to_contain_text(usd.groups[0].name)

    # The pushed URL alone reproduces the report.
    copy = page.context.new_page()
    copy.goto(page.url)
    expect(copy.get_by_label("Break down by")).to_have_value("label")
    expect_charts_match_tables_and_report(copy, report)


@pytest.mark.parametrize("name", ["Spend", "Balances"])
def test_without_javascript_no_empty_chart_stands_above_the_tables(
    browser, live_server, finance_user, world, name
):
    """The chart boxes are shown by charts.js; with JavaScript off the table comes first
    (a chart-sized gap stood there)."""
    with signed_in_without_javascript(browser, live_server.url, finance_user) as page:
        page.get_by_test_id("main-nav").get_by_text("Billing", exact=True).click()  # a <details>
        page.get_by_test_id("main-nav").get_by_role("link", name=name).click()

        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        expect(page.locator(".chart-box").first).to_be_attached()
        expect(page.locator(".chart-box:visible")).to_have_count(0)
        expect(page.get_by_role("table").first).to_be_visible()


def test_with_javascript_the_charts_are_shown(log_in, finance_user, live_server, world):
    page = log_in(finance_user)
    open_billing_page(page, "Balances")
    boxes = page.locator(".chart-box")
    expect(boxes.first).to_be_visible()
    assert drawn_chart(page, boxes.first.locator("canvas").element_handle())["painted"] > 100


def test_a_bad_month_is_refused_next_to_the_field(
    log_in, finance_user, live_server, console_errors
):
    page = log_in(finance_user)
    console_errors.expect_status(400, "/billing/spend/")
    page.goto(f"{live_server.url}/billing/spend/?start=2026-05&end=2026-02")
    end = page.get_by_label("To", exact=True)
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_end_error")).to_have_text("The period ends before it starts.")
    expect(page.get_by_test_id("spend-invalid")).to_be_visible()


def test_a_drained_account_warns_on_the_dashboard_and_the_balances_page(
    log_in, finance_user, live_server, world
):
    vobiz = world.accounts["vobiz"]
    ProviderAccount.objects.filter(pk=vobiz.pk).update(low_balance_threshold=Decimal(5000))
    buy_until(world.state, world.upstream("vobiz"), "vobiz", below=Decimal(5000))
    assert sync_account(vobiz).status == "succeeded"
    balance = money(world.state.balance(world.upstream("vobiz")), "INR")

    page = log_in(finance_user)
    warning = page.get_by_test_id("dashboard-balance-warning")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text(f"Vobiz India: {balance}, below its threshold of 5,000.00 INR")

    page.get_by_role("link", name="All balances and runways").click()
    expect(page.get_by_role("heading", name="Balances", exact=True)).to_be_visible()
    expect(page.get_by_test_id("balance-warning")).to_have_count(1)
    row = page.locator(f"#balance-{vobiz.pk}")
    expect(row.get_by_test_id("status")).to_have_text("Below threshold")
    expect(row.get_by_test_id("balance")).to_have_text(balance)
    expect(row.get_by_test_id("runway")).to_contain_text(re.compile(r"about \d+ days?"))
    for currency in ("INR", "USD"):
        canvas = page.locator(f"[data-testid=balance-trend][data-currency={currency}] canvas")
        assert drawn_chart(page, canvas.element_handle())["painted"] > 100


def test_audians_service_plans_show_and_others_say_none_are_offered(
    log_in, finance_user, live_server, world
):
    page = log_in(finance_user)
    open_billing_page(page, "Service plans")
    audian = page.locator(f"[data-account='{world.accounts['audian'].pk}']")
    expect(audian.get_by_test_id("plan")).to_contain_text("Sandbox numbers plan")
    expect(audian.get_by_test_id("plan-rates").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("plans-not-offered")).to_have_count(3)


def test_support_cannot_open_the_reports_until_granted(
    log_in, support_user, live_server, console_errors
):
    page = log_in(support_user)
    expect(page.get_by_test_id("main-nav").get_by_text("Billing", exact=True)).to_have_count(0)
    console_errors.expect_status(403, "/billing/spend/")
    assert page.goto(f"{live_server.url}/billing/spend/").status == 403
    grant(SUPPORT, "view_spend_report")
    assert page.goto(f"{live_server.url}/billing/spend/").status == 200
    open_billing_page(page, "Spend")


@pytest.mark.browser_context_args(viewport={"width": 390, "height": 844})
def test_on_a_phone_the_pages_do_not_scroll_sideways(log_in, finance_user, live_server, world):
    page = log_in(finance_user)
    for path in ("/", "/billing/spend/?by=account", "/billing/balances/", "/billing/plans/"):
        page.goto(f"{live_server.url}{path}")
        for canvas in page.locator("canvas").element_handles():
            assert drawn_chart(page, canvas)["painted"] > 100
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide"


# Issue 17 (10): at 1400 px the breakdown by provider ran past what its card showed, its
# last months cut off, with no way to reach them from the keyboard.
@pytest.mark.browser_context_args(viewport={"width": 1400, "height": 900})
def test_wide_tables_scroll_inside_their_card_from_the_keyboard_too(
    log_in, finance_user, live_server, world
):
    page = log_in(finance_user)
    page.goto(f"{live_server.url}/billing/spend/?start=2024-01&end=2026-12")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    for testid in ("spend-breakdown", "recurring"):
        tables = page.locator(f"table[data-testid={testid}], [data-testid={testid}] table")
        assert tables.count(), testid
        for table in tables.element_handles():
            scroller = table.evaluate_handle("table => table.closest('.table-responsive')")
            card = table.evaluate_handle("table => table.closest('.card')")
            box, card_box = scroller.as_element().bounding_box(), card.as_element().bounding_box()
            # The scroller stays within its card: what does not fit scrolls, nothing spills.
            assert card_box["x"] <= box["x"]
            assert box["x"] + box["width"] <= card_box["x"] + card_box["width"] + 0.5
            # A keyboard reaches it and a screen reader names it.
            assert scroller.as_element().get_attribute("tabindex") == "0", testid
            name = scroller.as_element().get_attribute("aria-label") or ""
            assert name.strip(), f"{testid}: the scroll container has no accessible name"
            if not scroller.evaluate("box => box.scrollWidth > box.clientWidth"):
                continue
            # Wider than its box: a shadow at its edge says there is more that way.
            cue = scroller.evaluate("box => getComputedStyle(box).backgroundImage")
            assert "gradient" in cue, f"{testid}: nothing shows that the table scrolls"
            scroller.as_element().focus()
            end = scroller.evaluate("box => box.scrollWidth - box.clientWidth")
            for _ in range(200):
                page.keyboard.press("ArrowRight")
                if scroller.evaluate("box => box.scrollLeft") >= end - 1:
                    break
            assert scroller.evaluate("box => box.scrollLeft") >= end - 1
            # Scrolled to its end, the last column is in view.
            last = table.evaluate(
                "t => t.rows[0].cells[t.rows[0].cells.length - 1].getBoundingClientRect().right"
            )
            assert last <= box["x"] + box["width"] + 2  # scrolling rounds to whole pixels
