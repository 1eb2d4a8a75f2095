"""A finance user narrows the transactions down, watches the totals follow, and downloads
exactly the rows on screen as CSV."""

import csv
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.support.factories import audian_and_vobiz, ledger_entry
from tests.support.reports import as_shown, expected_totals


@pytest.fixture
def ledger(db):
    audian, vobiz = audian_and_vobiz()
    now = timezone.now()
    rows = [
        (audian, "recurring", "1.9900", "+14155550100", "Monthly rental"),
        (audian, "usage", "0.0085", "+14155550100", "Outbound calls"),
        (audian, "credit", "250.0000", "", "Top-up"),
        (vobiz, "recurring", "1000.0000", "+912226123456", "Monthly rental"),
        (vobiz, "usage", "247.7686", "+912226123456", "SMS"),
        (vobiz, "usage", "12.5000", "+912226123457", "Inbound calls"),
        (vobiz, "credit", "25000.0000", "", "Recharge"),
    ]
    return [
        ledger_entry(account, kind, amount, now - timedelta(hours=index), number, description)
        for index, (account, kind, amount, number, description) in enumerate(rows)
    ]


def expect_totals(page: Page, rows):
    """The totals cards show exactly the figures added up here from `rows`."""
    cards = page.get_by_test_id("totals").locator("[data-testid^=totals-]")
    expected = as_shown(expected_totals(rows))
    expect(cards).to_have_count(len(expected))
    for key, (count, debits, credits, net) in expected.items():
        card = page.get_by_test_id(f"totals-{key}")
        expect(card).to_contain_text(f"{count} transaction")
        expect(card.locator("[data-total=debits]")).to_have_text(debits)
        expect(card.locator("[data-total=credits]")).to_have_text(credits)
        expect(card.locator("[data-total=net]")).to_have_text(net)


def test_filters_change_the_totals_and_the_csv_holds_the_filtered_rows(
    log_in, finance_user, ledger, tmp_path: Path
):
    page = log_in(finance_user)
    page.get_by_test_id("main-nav").get_by_text("Billing", exact=True).click()
    page.get_by_role("link", name="Transactions").click()
    expect(page.get_by_role("heading", name="Transactions", exact=True)).to_be_visible()
    # Until the document has loaded, htmx has not taken over the filters' form.
    page.wait_for_load_state("load")
    expect_totals(page, ledger)

    page.get_by_label("Provider").select_option("vobiz")
    expect(page).to_have_url(re.compile(r"provider=vobiz"))
    vobiz = [row for row in ledger if row.currency == "INR"]
    expect_totals(page, vobiz)
    expect(page.get_by_test_id("totals-USD")).to_have_count(0)

    # Sorted by amount, then narrowed down further: the sort stays.
    page.get_by_role("link", name="Amount").click()
    expect(page).to_have_url(re.compile(r"sort=amount"))
    page.get_by_label("Type").select_option("usage")
    expect(page).to_have_url(re.compile(r"kind=usage.*sort=amount|sort=amount.*kind=usage"))
    usage = [row for row in vobiz if row.kind == "usage"]
    expect_totals(page, usage)

    # The phone number filter sits behind "More filters"; it matches digits in any format.
    page.get_by_text("More filters").click()
    page.get_by_label("Phone number").fill("022 2612 3456")
    expect(page).to_have_url(re.compile(r"number=022"))
    one_number = [row for row in usage if row.number == "+912226123456"]
    expect_totals(page, one_number)
    expect(page.locator(".transactions-table tbody tr")).to_have_count(len(one_number))

    # A reload of the pushed URL shows the same thing: the URL holds the state.
    page.reload()
    expect(page.get_by_label("Phone number")).to_have_value("022 2612 3456")
    expect_totals(page, one_number)

    with page.expect_download() as download:
        page.get_by_test_id("exports").get_by_role("link", name="CSV").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with saved.open(encoding="utf-8-sig", newline="") as file:
        header, *rows = list(csv.reader(file))
    assert header[-1] == "Upstream id"
    assert [row[-1] for row in rows] == [row.upstream_id for row in one_number]
    assert [(row[8], row[9]) for row in rows] == [("-247.7686", "INR")]

    # Nothing matches: the empty state's "Clear the filters" shows every row again, in
    # the form as well as in the table.
    page.get_by_label("Description").fill("no such charge")
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    expect(page.get_by_test_id("totals")).to_have_count(0)
    page.get_by_test_id("empty-state").get_by_role("link", name="Clear the filters").click()
    expect(page.get_by_label("Phone number")).to_have_value("")
    expect(page.get_by_label("Provider")).to_have_value("")
    expect_totals(page, ledger)
