"""A support user labels a number in place (Enter or a click edits, Escape cancels, errors
show in place) and releases one after typing it; Finance sees the page read-only."""

import pytest
from playwright.sync_api import expect

from numbers.services.labels import LABEL_MAX_LENGTH
from portal.models import SyncRun
from portal.providers.sandbox import build_state
from portal.services.sync import sync_account
from tests.support.world import World, serve, synced_number


@pytest.fixture
def world(live_server):
    state = build_state(numbers=3, transactions=2, inventory=2)
    with serve(state) as url:
        yield World(state, url)


def upstream_label(world, number) -> str:
    return world.state.owned_number(world.upstream(number.provider.slug), number.number)["label"]


@pytest.mark.parametrize(
    ("slug", "note"),
    [
        ("audian", "Label saved, at Audian too."),
        ("vobiz", "Label saved in the portal only: Vobiz has no labels"),
    ],
    ids=["label-at-provider", "label-in-portal"],
)
def test_inline_label_edit_survives_a_reload_and_a_sync(
    log_in, live_server, support_user, world, slug, note
):
    number = synced_number(world, slug)
    label_before_upstream = upstream_label(world, number)
    page = log_in(support_user)
    page.goto(f"{live_server.url}{number.get_absolute_url()}")
    label = page.get_by_test_id("label")
    edit = page.get_by_test_id("edit-label")
    field = label.get_by_role("textbox", name="Portal label")

    # Each step waits for what a person sees before typing on: the focus where the swap
    # put it, which happens once htmx has settled (and wired up) the new part.
    # A click opens the editor; Escape closes it unsaved and gives focus back.
    edit.click()
    expect(field).to_be_focused()
    field.fill("Not saved")
    page.keyboard.press("Escape")
    expect(field).to_have_count(0)
    expect(edit).to_be_focused()
    expect(label).not_to_contain_text("Not saved")

    # Enter on the label opens it too; a too-long label is refused where it was typed.
    page.keyboard.press("Enter")
    expect(field).to_be_focused()
    field.fill("x" * (LABEL_MAX_LENGTH + 1))
    field.press("Enter")
    expect(label.get_by_role("alert")).to_contain_text(f"at most {LABEL_MAX_LENGTH} characters")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()

    field.fill("  Night line ")
    field.press("Enter")
    expect(label.get_by_test_id("label-text")).to_have_text("Night line")
    expect(page.get_by_test_id("label")).to_contain_text(note)
    expect(edit).to_be_focused()
    expect(page.get_by_test_id("history")).to_contain_text("Night line")
    expect(page).to_have_url(f"{live_server.url}{number.get_absolute_url()}")

    page.reload()
    expect(page.get_by_test_id("label-text")).to_have_text("Night line")

    assert sync_account(world.accounts[slug]).status == SyncRun.Status.SUCCEEDED
    page.reload()
    expect(page.get_by_test_id("label-text")).to_have_text("Night line")
    if slug == "audian":
        assert upstream_label(world, number) == "Night line"
        expect(page.get_by_test_id("upstream-label")).to_have_text("Night line")
    else:
        assert upstream_label(world, number) == label_before_upstream


def test_release_needs_the_number_typed_then_the_sandbox_no_longer_lists_it(
    log_in, live_server, support_user, world
):
    number = synced_number(world, "audian")
    page = log_in(support_user)
    page.goto(f"{live_server.url}{number.get_absolute_url()}")
    release = page.get_by_test_id("release")
    release.get_by_text("Release this number").click()
    confirmation = release.get_by_role("textbox", name="to confirm")

    confirmation.fill("+1 212 555 0000")
    release.get_by_role("button", name="Release the number").click()
    expect(page.get_by_role("alert")).to_contain_text("That is not this number.")
    expect(page.get_by_test_id("status")).to_have_text("Active")

    national = number.display_number.removeprefix("+1 ")
    page.get_by_role("textbox", name="to confirm").fill(f"({national[:3]}) {national[4:]}")
    page.get_by_role("button", name="Release the number").click()
    expect(page.get_by_text(f"{number.display_number} is released at Audian.")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Released")
    expect(page.get_by_test_id("released-at")).to_be_visible()
    expect(page.get_by_test_id("release")).to_have_count(0)
    expect(page.get_by_test_id("edit-label")).to_have_count(0)
    expect(page.get_by_test_id("history")).to_contain_text("Release by sam-support")

    listed = {record["e164"] for record in world.state.owned_numbers(world.upstream("audian"))}
    assert number.number not in listed


def test_finance_sees_the_page_without_controls(log_in, live_server, finance_user, world):
    number = synced_number(world, "ravan")
    page = log_in(finance_user)
    page.goto(f"{live_server.url}{number.get_absolute_url()}")
    expect(page.get_by_role("heading", name=number.display_number)).to_be_visible()
    expect(
        page.get_by_text("Kept in the portal: Ravan has no labels the portal can set.")
    ).to_be_visible()
    expect(page.get_by_test_id("edit-label")).to_have_count(0)
    expect(page.get_by_test_id("release")).to_have_count(0)
    expect(page.get_by_role("heading", name="Transactions")).to_be_visible()
