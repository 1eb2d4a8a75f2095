"""The numbers list in a real browser: htmx filters and sorting that push the URL (back and a
copied URL show the same rows), labels and tags in bulk, exports, Finance's read-only view,
and the phone layout."""

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from numbers.models import PhoneNumber
from portal.models import AuditEvent, SyncRun
from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from portal.services.sync import sync_account
from tests.support.factories import (
    PhoneNumberFactory,
    ProviderAccountFactory,
    TagFactory,
    provider_account,
)
from tests.support.world import World

# --- Filters and sorting with htmx ----------------------------------------------------------


def create_numbers_to_search():
    """Two Audian numbers in the US and one Vobiz number in London, in list order; only the
    London one contains the digits 2071. Returns the numbers as shown, all and London's."""
    audian = provider_account("audian")
    vobiz = provider_account("vobiz")
    numbers = [
        PhoneNumberFactory(account=audian, number="+14155550101"),
        PhoneNumberFactory(account=audian, number="+14155550102"),
        PhoneNumberFactory(account=vobiz, number="+442071234567", country="GB"),
    ]
    return [number.display_number for number in numbers], [numbers[2].display_number]


def number_cells(page):
    return page.locator("#table tbody td.number")


def open_numbers_list(page, live_server):
    page.get_by_test_id("main-nav").get_by_role("link", name="Numbers", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/numbers/")


def expect_swap_and_history(page, action, query, all_rows, rows):
    """Run `action`, which must filter the list down to `rows` through one htmx request that
    swaps the table and pushes one history entry with `query` in the URL; then check that
    Back restores the list and the pushed URL alone shows the same rows."""
    list_url = page.url
    # htmx takes over the form once the document has loaded: an action sooner than that
    # (rows are already on screen) would submit it as a plain page load.
    page.wait_for_load_state("load")
    expect(number_cells(page)).to_have_text(all_rows)
    history_length = page.evaluate("history.length")
    htmx_requests = []

    def note_htmx_request(request):
        if request.headers.get("hx-request"):
            htmx_requests.append(request.url)

    page.on("request", note_htmx_request)
    # A full page load would drop this; an htmx swap keeps it.
    page.evaluate("window.e2eSameDocument = true")

    with page.expect_response(lambda r: query in r.url, timeout=5000) as filtered:
        action()

    response = filtered.value
    assert response.request.headers.get("hx-request") == "true"
    assert "<html" not in response.text(), "htmx got a whole page instead of the table"
    expect(page).to_have_url(re.compile(rf"[?&]{re.escape(query)}(&|$)"))
    expect(number_cells(page)).to_have_text(rows)
    assert page.evaluate("window.e2eSameDocument") is True
    # Give a second request set off by the same action time to show up.
    page.wait_for_timeout(300)
    assert htmx_requests == [response.url], "one action, one request"
    assert page.evaluate("history.length") == history_length + 1, "one action, one entry"
    filtered_url = page.url

    page.go_back()

    expect(page).to_have_url(list_url)
    expect(number_cells(page)).to_have_text(all_rows)

    # The URL alone reproduces what was on screen.
    copy = page.context.new_page()
    copy.goto(filtered_url)
    expect(number_cells(copy)).to_have_text(rows)
    return page, copy


def search_box(page):
    return page.get_by_placeholder("Digits or label")


def provider_choice(page):
    return page.get_by_label("Provider")


@pytest.mark.parametrize(
    ("field", "use", "value", "query"),
    [
        # No Enter, no leaving the field: the table follows the typing.
        (search_box, "press_sequentially", "2071", "q"),
        (provider_choice, "select_option", "vobiz", "provider"),
    ],
    ids=["typing-in-the-search", "choosing-a-provider"],
)
def test_a_filter_swaps_the_table_and_pushes_the_url(
    log_in, support_user, live_server, field, use, value, query
):
    all_rows, london = create_numbers_to_search()
    page = log_in(support_user)
    open_numbers_list(page, live_server)

    page, copy = expect_swap_and_history(
        page, lambda: getattr(field(page), use)(value), f"{query}={value}", all_rows, london
    )

    # Back left the field empty again; the copied URL alone fills it in.
    expect(field(page)).to_have_value("")
    expect(field(copy)).to_have_value(value)


def test_enter_in_numbers_search_adds_one_history_entry(log_in, support_user, live_server):
    all_rows, london = create_numbers_to_search()
    page = log_in(support_user)
    open_numbers_list(page, live_server)
    search = search_box(page)

    def type_then_enter():
        # Enter soon after typing: the submit cancels the typing's delayed request, so the
        # two make one request. (Filling first, outside the action, raced that delay when
        # the machine was slow.)
        search.fill("2071")
        search.press("Enter")

    expect_swap_and_history(page, type_then_enter, "q=2071", all_rows, london)


def test_choosing_a_tag_under_more_filters_swaps_the_table_and_pushes_the_url(
    log_in, support_user, live_server
):
    all_rows, london = create_numbers_to_search()
    TagFactory(name="london").numbers.add(PhoneNumber.objects.get(number="+442071234567"))
    page = log_in(support_user)
    open_numbers_list(page, live_server)
    page.get_by_text("More filters").click()
    tag = page.get_by_label("Tag", exact=True)

    page, copy = expect_swap_and_history(
        page, lambda: tag.select_option("london"), "tag=london", all_rows, london
    )

    # The copied URL opens with "More filters" open, showing the tag in use.
    expect(copy.get_by_label("Tag", exact=True)).to_be_visible()
    expect(copy.get_by_label("Tag", exact=True)).to_have_value("london")


def test_sorting_by_a_column_swaps_the_table_and_back_restores_the_order(
    log_in, support_user, live_server
):
    all_rows, london = create_numbers_to_search()
    PhoneNumber.objects.filter(number="+442071234567").update(monthly_fee=Decimal("0.10"))
    page = log_in(support_user)
    open_numbers_list(page, live_server)
    monthly = page.locator("#table thead th").filter(has_text="Monthly").get_by_role("link")

    cheapest_first = [london[0], *all_rows[:2]]
    expect_swap_and_history(page, monthly.click, "sort=monthly_fee", all_rows, cheapest_first)


# --- Bulk labels and tags -------------------------------------------------------------------


def bulk_form(page):
    return page.get_by_role("form", name="Label or tag numbers")


@pytest.fixture
def sandbox_audian(live_server):
    """Audian's sandbox on loopback, its numbers synced: Audian keeps labels upstream."""
    state = build_state(numbers=3, transactions=1, inventory=1)
    with SandboxThread(build_app(state, FaultConfig())) as url:
        world = World(state, url)
        assert sync_account(world.accounts["audian"], SyncRun.Kind.NUMBERS).status == "succeeded"
        yield world


def test_support_labels_and_tags_the_ticked_rows(log_in, support_user, live_server, sandbox_audian):
    """The label goes to Audian too, as the inline edit sends it, and each number says so
    (issue 17); tags are the portal's."""
    audian = list(PhoneNumber.objects.filter(provider__slug="audian").order_by("number"))
    page = log_in(support_user)
    page.goto(f"{live_server.url}/numbers/?provider=audian")
    form = bulk_form(page)

    page.get_by_label(f"Select {audian[0].display_number}").check()
    page.get_by_label(f"Select {audian[1].display_number}").check()
    expect(form.get_by_role("button", name="Apply to ticked (2)")).to_be_visible()
    form.get_by_label("Label", exact=True).select_option(label="Set label to")
    form.get_by_label("New label").fill("Night line")
    form.get_by_label("Tags", exact=True).select_option(label="Add tags")
    form.get_by_label("Tag names").fill("acme, vip")
    form.get_by_role("button", name="Apply to ticked (2)").click()

    results = page.get_by_test_id("bulk-results")
    expect(results.get_by_role("heading")).to_have_text(
        "Changed 2 of 2 numbers: label set to “Night line”; add tags: acme, vip."
    )
    expect(results.get_by_test_id("label-sent")).to_have_text(["Done: label set at Audian too"] * 2)
    results.get_by_role("link", name="Back to the list").click()
    expect(page).to_have_url(f"{live_server.url}/numbers/?provider=audian")
    labels = page.locator("#table tbody td.label")
    expect(labels.nth(0)).to_have_text(re.compile(r"^Night line\s*acme\s*vip$"))
    expect(labels.nth(1)).to_have_text(re.compile(r"^Night line\s*acme\s*vip$"))
    upstream = sandbox_audian.upstream("audian")
    for number in audian[:2]:
        assert sandbox_audian.state.owned_number(upstream, number.number)["label"] == "Night line"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LABEL).count() == 4


def test_the_header_box_ticks_every_row_on_the_page(log_in, support_user, live_server):
    all_rows, _ = create_numbers_to_search()
    page = log_in(support_user)
    page.goto(f"{live_server.url}/numbers/")

    page.get_by_label("Select every number on this page").check()

    for number in all_rows:
        expect(page.get_by_label(f"Select {number}")).to_be_checked()
    expect(bulk_form(page).get_by_role("button", name="Apply to ticked (3)")).to_be_visible()
    page.get_by_label(f"Select {all_rows[0]}").uncheck()
    expect(bulk_form(page).get_by_role("button", name="Apply to ticked (2)")).to_be_visible()


def test_all_matching_above_one_page_asks_first_then_changes_every_match(
    log_in, support_user, live_server
):
    account = ProviderAccountFactory()
    PhoneNumberFactory.create_batch(27, account=account, label="spare")
    PhoneNumberFactory(account=account, label="kept")
    page = log_in(support_user)
    page.goto(f"{live_server.url}/numbers/?q=spare&per_page=25")
    form = bulk_form(page)

    form.get_by_label("Tags", exact=True).select_option(label="Add tags")
    form.get_by_label("Tag names").fill("pool")
    form.get_by_role("button", name="Apply to all matching").click()

    confirmation = page.get_by_test_id("bulk-confirmation")
    expect(confirmation).to_contain_text("This changes 27 numbers")
    expect(confirmation).to_contain_text("Search: spare")
    expect(confirmation).to_contain_text("add tags: pool")
    assert not PhoneNumber.objects.filter(tags__name="pool").exists()

    page.get_by_role("button", name="Change 27 numbers").click()

    expect(page.get_by_role("alert")).to_contain_text("Changed 27 of 27 numbers")
    expect(page).to_have_url(f"{live_server.url}/numbers/?q=spare&per_page=25")
    assert PhoneNumber.objects.filter(tags__name="pool").count() == 27
    assert not PhoneNumber.objects.filter(label="kept", tags__name="pool").exists()


def test_a_bulk_change_without_a_choice_is_explained_in_place(log_in, support_user, live_server):
    all_rows, _ = create_numbers_to_search()
    page = log_in(support_user)
    page.goto(f"{live_server.url}/numbers/")
    # Vobiz keeps no labels: the label is the portal's alone.
    page.get_by_label(f"Select {all_rows[2]}").check()

    bulk_form(page).get_by_role("button", name="Apply to ticked (1)").click()

    page_form = page.get_by_test_id("bulk-page")
    expect(page_form.get_by_role("alert")).to_have_text("Choose a label or a tag change to make.")
    page_form.get_by_label("Label", exact=True).select_option(label="Set label to")
    page_form.get_by_label("New label").fill("Fixed")
    page_form.get_by_role("button", name="Apply").click()

    expect(page.get_by_role("alert")).to_contain_text("Changed 1 of 1 number:")
    expect(page.locator("#table tbody td.label").nth(2)).to_have_text("Fixed")


# --- Finance and exports --------------------------------------------------------------------


def test_finance_sees_no_bulk_controls_and_is_refused_the_bulk_post(
    log_in, finance_user, live_server, console_errors
):
    create_numbers_to_search()
    page = log_in(finance_user)
    page.goto(f"{live_server.url}/numbers/")

    expect(number_cells(page)).to_have_count(3)
    expect(page.locator('#table input[type="checkbox"]')).to_have_count(0)
    expect(bulk_form(page)).to_have_count(0)
    expect(page.get_by_text("Label or tag numbers")).to_have_count(0)

    console_errors.expect_status(403, "/numbers/bulk/")
    status = page.evaluate(
        """async () => {
            const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
            const body = new URLSearchParams({scope: "all", query: "", label_action: "clear"});
            const response = await fetch("/numbers/bulk/", {
                method: "POST", headers: {"X-CSRFToken": token}, body,
            });
            return response.status;
        }"""
    )
    assert status == 403
    assert not AuditEvent.objects.exists()


def test_the_csv_export_holds_the_rows_of_the_current_filter(
    log_in, finance_user, live_server, tmp_path
):
    create_numbers_to_search()
    page = log_in(finance_user)
    page.goto(f"{live_server.url}/numbers/")
    page.get_by_label("Provider").select_option("audian")
    expect(number_cells(page)).to_have_count(2)

    with page.expect_download() as download:
        page.get_by_test_id("exports").get_by_role("link", name="CSV").click()

    path = Path(tmp_path) / download.value.suggested_filename
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 for Excel (issue 17)
    with path.open(encoding="utf-8-sig") as exported:
        rows = list(csv.DictReader(exported))
    assert [row["Number"] for row in rows] == ["+14155550101", "+14155550102"]
    assert {row["Provider"] for row in rows} == {"Audian"}
    assert {(row["Monthly"], row["Currency"]) for row in rows} == {("0.99", "USD")}


# --- Phone width ----------------------------------------------------------------------------


@pytest.mark.browser_context_args(viewport={"width": 390, "height": 844})
def test_phone_width_keeps_the_page_within_the_screen(log_in, support_user, live_server):
    all_rows, _ = create_numbers_to_search()
    page = log_in(support_user)
    page.goto(f"{live_server.url}/numbers/")

    expect(number_cells(page)).to_have_text(all_rows)
    # The table scrolls sideways inside its card; the page itself never does.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The bulk form waits behind its summary until a row is ticked.
    expect(bulk_form(page)).to_be_hidden()
    page.get_by_label(f"Select {all_rows[0]}").check()
    expect(bulk_form(page)).to_be_visible()
