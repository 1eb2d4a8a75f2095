"""The buy dialog from the keyboard, in Chromium: Enter searches, Enter on Buy opens the
confirmation with the focus in its label field, Escape closes it and Enter opens it again,
all without a Content Security Policy violation."""

import re

from playwright.sync_api import expect

from tests.support.browser import PolicyWatch, result_rows

# What scripts the policy allows do to a page's fields: style them through the CSSOM (a
# password manager's icon, Bootstrap's own adjustments). That leaves a style attribute,
# which htmx, settling a swap, would copy onto the new fields with setAttribute: an inline
# style the policy blocks.
STYLE_THE_FIELDS = """() => {
  for (const field of document.querySelectorAll("#buy-dialog input[id]")) {
    field.style.scrollMarginTop = "1px";
  }
}"""


def test_the_buy_dialog_opens_again_from_the_keyboard_focused_and_within_the_policy(
    log_in,
    support_user,
    live_server,
    market,
):
    page = log_in(support_user)
    watch = PolicyWatch(page)
    watch.visit(f"{live_server.url}/numbers/buy/")
    page.wait_for_load_state("load")  # htmx has taken over the search form

    page.get_by_label("Country").select_option("US")
    page.get_by_label("Region or area code").press("Enter")
    expect(page).to_have_url(re.compile(r"country=US"))
    buy = result_rows(page, "audian").first.get_by_role("link", name=re.compile("^Buy "))
    dialog = page.locator("#buy-dialog")
    label = dialog.get_by_role("textbox", name="Label")

    buy.focus()
    for _ in range(2):
        page.keyboard.press("Enter")
        expect(dialog.get_by_test_id("buy-form")).to_be_visible()
        # The label field has the focus once the dialog is shown, so typing goes there.
        expect(label).to_be_focused()
        page.keyboard.type("Front desk")
        expect(label).to_have_value("Front desk")
        page.evaluate(STYLE_THE_FIELDS)
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(buy).to_be_focused()

    assert watch.gather() == []
