"""A person's walk through the portal, in Chromium, for each role at a desktop's and a phone's
width: every entry of the navigation, reached by clicking what shows (opening the menu that
holds it first), and on each page the clicks people make there (a number in a table, a sort
heading, a page link, an order, a filter), with htmx doing its work. After every click: one
navigation bar, the heading of the page the URL names, no answer of 400 or more, no console
error and no Content Security Policy violation; and axe-core (static/vendor/axe-core) finds
nothing against WCAG 2.1 A and AA in what the page shows. Then the same navigation without
JavaScript, and signing out."""

import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from numbers.models import NumberOrder, PhoneNumber
from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from portal.services.sync import sync_account
from tests.support.axe import axe_violations
from tests.support.browser import RECORD_VIOLATIONS, ConsoleErrors
from tests.support.factories import PASSWORD, NumberOrderFactory
from tests.support.world import World

# At rest: nothing of htmx on its way (no request, swap or settling), no transition
# running (a dimmed table), and a dialog on screen fully faded in (its fade may not have
# started yet when the others are done): axe measures colours as they end up.
AT_REST = """() =>
    !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    && !document.getAnimations().some((animation) => animation.playState === "running"
        && animation.effect.getTiming().iterations !== Infinity)
    && [...document.querySelectorAll(".modal")].every((modal) => {
        const style = getComputedStyle(modal);
        return style.display === "none" || style.opacity === "1";
    })"""

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}

# The navigation's entries in order, per role; the Billing menu holds the same four for
# every role that sees it.
BILLING = ["Transactions", "Balances", "Spend", "Service plans"]
NAVIGATION = {
    "support": [
        *("Dashboard", "Numbers", "Buy numbers", "Orders", "Idle numbers", "Sync"),
        "Alert history",
    ],
    "finance": [
        "Dashboard",
        "Numbers",
        "Orders",
        "Idle numbers",
        *BILLING,
        "Sync",
        "Alert history",
    ],
    "admin": [
        *("Dashboard", "Numbers", "Buy numbers", "Orders", "Idle numbers"),
        *BILLING,
        *("Sync", "Alert history", "Alert rules", "Webhooks", "Admin"),
    ],
}

NUMBER_HEADING = re.compile(r"^\+\d[\d ()-]+$")
# The heading each page shows, by its path; Django admin has no portal navigation bar.
HEADINGS = [
    (r"/", "Dashboard"),
    (r"/login/", "Number portal"),
    (r"/numbers/", "Numbers"),
    (r"/numbers/\d+/", NUMBER_HEADING),
    (r"/numbers/buy/", "Buy numbers"),
    (r"/numbers/orders/", "Orders"),
    (r"/numbers/idle/", "Idle numbers"),
    (r"/billing/transactions/", "Transactions"),
    (r"/billing/balances/", "Balances"),
    (r"/billing/spend/", "Spend"),
    (r"/billing/plans/", "Service plans"),
    (r"/sync/", "Sync"),
    (r"/alerts/", "Alert history"),
    (r"/alerts/rules/", "Alert rules"),
    (r"/alerts/channels/", "Webhooks"),
    (r"/admin/", "Site administration"),
    (r"/admin/\w+/\w+/", re.compile(r"^Select .+ to change$")),
]


def heading_of(path):
    for pattern, heading in HEADINGS:
        if re.fullmatch(pattern, path):
            return heading
    pytest.fail(f"The walk reached {path}, a page it does not know", pytrace=False)


# --- The world the walk goes through --------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_url():
    """The providers' sandbox, for the syncs and the number search."""
    # Few rows, to keep axe quick: more numbers than the smallest page holds.
    state = build_state(numbers=8, transactions=8, inventory=3)
    with SandboxThread(build_app(state, FaultConfig())) as url:
        yield state, url


@pytest.fixture
def holdings(sandbox_url):
    """Four synced accounts (more numbers than the smallest page holds), one of them below
    its low-balance threshold, and orders in every outcome."""
    world = World(*sandbox_url)
    for account in world.accounts.values():
        assert sync_account(account).status == "succeeded"
    low = world.accounts["audian"]
    low.low_balance_threshold = Decimal("1000000")
    low.save(update_fields=["low_balance_threshold"])
    number = PhoneNumber.objects.filter(account=low).order_by("number").first()
    NumberOrderFactory(
        account=low, number=number.number, phone_number=number, state=NumberOrder.State.COMPLETED
    )
    NumberOrderFactory(account=low, state=NumberOrder.State.FAILED, error_message="Unavailable")
    NumberOrderFactory(account=low, state=NumberOrder.State.UNKNOWN)
    return world


# --- Walking --------------------------------------------------------------------------------


class Walk:
    """One browser context walking the portal: each step is a click, after which the page
    is checked; with JavaScript, axe-core's findings are gathered for the report."""

    def __init__(self, page: Page, base_url: str, console: ConsoleErrors, javascript=True):
        self.page = page
        self.base_url = base_url
        self.console = console
        self.javascript = javascript
        self.failed_answers = []
        self.violations = {}  # (rule, target) -> the first place seen, with impact and help
        self.checked = set()  # the page states axe has seen
        page.set_default_timeout(10_000)
        page.context.on("response", self._on_response)
        if javascript:
            page.context.add_init_script(RECORD_VIOLATIONS)

    def _on_response(self, response):
        request = response.request
        if request.resource_type in ("document", "xhr", "fetch") and response.status >= 400:
            self.failed_answers.append(f"{response.status} {request.method} {response.url}")

    @property
    def path(self):
        return urlsplit(self.page.url).path

    def log_in(self, username):
        self.page.goto(f"{self.base_url}/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.click(self.page.get_by_role("button", name="Sign in"), "Sign in")

    # Reaching and clicking what shows.

    def reveal(self, target):
        """Make `target` show as a person would: open what holds it, outermost first (the
        phone's collapsed navigation, then the menu): a <details>' <summary>, or a toggle
        button (aria-expanded) just before the element it opens. A toggle that does not
        show (the phone's, on a desktop) is not needed; one that slides open is waited for."""
        openers = target.locator(
            "xpath=ancestor::details[not(@open)]/summary"
            " | ancestor::*/preceding-sibling::*[@aria-expanded='false']"
        )
        for _ in range(30):
            if target.is_visible():
                return
            shown = [opener for opener in openers.all() if opener.is_visible()]
            if shown:
                shown[0].click()
            else:
                self.page.wait_for_timeout(100)

    def click(self, target, what):
        """Click `target` (revealed first), wait for the answer and for htmx to finish,
        then check the page."""
        self.reveal(target)
        with self.page.expect_response(
            lambda response: response.request.resource_type in ("document", "xhr", "fetch")
        ):
            target.click()
        self.settle()
        self.check(what)

    def settle(self):
        self.page.wait_for_load_state("load")
        if self.javascript:
            self.page.wait_for_function(AT_REST)

    # What must hold after every click.

    def check(self, what):
        page, path = self.page, self.path
        where = f"after {what} (at {page.url})"
        heading = heading_of(path)
        portal = not path.startswith("/admin/") and path != "/login/"
        assert self.failed_answers == [], f"answers of 400 or more {where}"
        assert self.console.collected() == [], f"console errors {where}"
        navbars = page.get_by_role("navigation", name="Main navigation")
        expect(navbars, f"one navigation bar {where}").to_have_count(1 if portal else 0)
        expect(page.locator("h1"), f"one heading {where}").to_have_count(1)
        expect(page.locator("h1"), f"the page's heading {where}").to_have_text(heading)
        if self.javascript:
            violations = page.evaluate("window.cspViolations")
            assert violations == [], f"Content Security Policy violations {where}"
            # A URL reproduces what the page shows (a dialog aside): axe runs once per state.
            state = (page.url.split("#")[0], page.locator(".modal.show").count())
            if state not in self.checked:
                self.checked.add(state)
                self.run_axe(where)

    def run_axe(self, where):
        for rule in axe_violations(self.page):
            for node in rule["nodes"]:
                self.violations.setdefault(
                    (rule["id"], node["target"]),
                    {"impact": rule["impact"], "why": node["why"] or rule["help"], "at": where},
                )

    def report(self):
        lines = [
            f"{rule} ({found['impact']}): {target}\n    {found['why']}\n    first {found['at']}"
            for (rule, target), found in sorted(self.violations.items())
        ]
        rules = sorted({rule for rule, _ in self.violations})
        return f"axe-core found {len(lines)} violations of {len(rules)} rules {rules}:\n" + (
            "\n".join(lines)
        )

    # The navigation.

    def navigation(self):
        return self.page.get_by_test_id("main-nav")

    def entries(self):
        """The navigation's links, shown or in a closed menu: (name, address)."""
        links = self.navigation().locator("a[href]")
        return [
            (" ".join(links.nth(i).text_content().split()), links.nth(i).get_attribute("href"))
            for i in range(links.count())
        ]

    def follow(self, name, href):
        self.click(self.navigation().locator(f'a[href="{href}"]'), f'the menu entry "{name}"')
        assert self.path == urlsplit(href).path

    def sign_out(self):
        sign_out = self.page.get_by_role("button", name="Sign out", include_hidden=True)
        self.click(sign_out, "Sign out")
        expect(self.page.get_by_text("You are signed out.")).to_be_visible()


# --- On each page, what people click -----------------------------------------------------


def skip_to_content(page):
    """The first Tab reaches the skip link, and following it puts the focus on the page's
    content, where the next Tab goes on from."""
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def dashboard(walk):
    counts = walk.page.get_by_test_id("numbers-by-provider").locator("tbody a")
    walk.click(counts.first, "a count of numbers on the dashboard")


def numbers(walk):
    page = walk.page
    walk.click(page.locator("#table thead").get_by_role("link", name="Account"), "a sort heading")
    walk.click(page.get_by_role("link", name="25", exact=True), "25 rows a page")
    walk.click(page.locator("#table .pagination").get_by_role("link", name="2"), "page 2")
    if walk.javascript:  # the second status, Active
        status = page.get_by_label("Status", exact=True)
        filter_with_the_keyboard(walk, status, ["ArrowDown", "ArrowDown", "ArrowUp"], "Enter")
    walk.click(page.locator("#table tbody td.number a").first, "a number in the list")
    walk.click(
        page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name="Numbers"),
        "the breadcrumb back to the numbers",
    )


def filter_with_the_keyboard(walk, select, steps, choose):
    """Arrow keys step through a filter's choices without applying any; Enter, or leaving
    the field (Tab), applies the one chosen, and the result count is announced."""
    page = walk.page
    requests = []

    def note(request):
        requests.append(request.url)

    page.on("request", note)
    select.focus()
    for key in steps:
        page.keyboard.press(key)
    page.wait_for_timeout(400)  # longer than any htmx delay of the filters
    page.remove_listener("request", note)
    assert requests == [], "a filter applied while its choices were stepped through"
    with page.expect_response(lambda response: response.request.headers.get("hx-request")):
        page.keyboard.press(choose)
    walk.settle()
    walk.check(f"a filter chosen with the keyboard and {choose}")
    expect(page.get_by_test_id("filter-status")).to_have_text(re.compile(r"\d"))


def choose(walk, label, option):
    """A filter chosen with the mouse: applied at once, and the result count announced."""
    page = walk.page
    with page.expect_response(lambda response: response.request.headers.get("hx-request")):
        page.get_by_label(label, exact=True).select_option(option)
    walk.settle()
    walk.check(f'the filter "{label}"')
    expect(page.get_by_test_id("filter-status")).to_have_text(re.compile(r"\d"))


def buy_numbers(walk):
    page = walk.page
    page.get_by_label("Country", exact=True).select_option("US")
    walk.click(page.get_by_role("button", name="Search"), "a search for numbers to buy")
    buy = page.get_by_test_id("search-results").get_by_role("link", name=re.compile("^Buy "))
    walk.click(buy.first, "Buy on an offer")
    expect(page.get_by_test_id("buy-form")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#buy-dialog")).to_be_hidden()


def orders(walk):
    page = walk.page
    choose(walk, "State", "completed")
    walk.click(page.locator("#table tbody a").first, "a completed order's number")


def idle_numbers(walk):
    choose(walk, "Provider", "audian")


def transactions(walk):
    page = walk.page
    walk.click(page.locator("#table thead").get_by_role("link", name="Amount"), "a sort heading")
    kind = page.get_by_label("Type", exact=True)  # Any type, Debit, Credit, Recurring
    filter_with_the_keyboard(walk, kind, ["ArrowDown"] * 3, "Tab")


def balances(walk):
    # Shown only to those who may change an account: beside the threshold, or on a phone
    # (where that column is hidden) under the balance.
    edit = walk.page.locator('a[href*="?edit="]:visible')
    if edit.count():
        walk.click(edit.first, "Edit a threshold")
        walk.click(walk.page.get_by_role("link", name="Cancel"), "Cancel")


def spend(walk):
    page = walk.page
    periods = page.get_by_test_id("spend-report").locator(".card-footer a")
    walk.click(periods.last, "a quick period")
    with page.expect_response(lambda response: response.request.headers.get("hx-request")):
        page.get_by_label("Break down by", exact=True).select_option(index=1)
    walk.settle()
    walk.check("the spend grouped another way")


def sync_runs(walk):
    choose(walk, "Status", "succeeded")


def admin(walk):
    page = walk.page
    walk.click(page.locator('th a[href$="/numbers/phonenumber/"]'), "a model in the admin")
    walk.click(
        page.locator("#changelist-filter").get_by_role("link", name="Active", exact=True),
        "a filter in the admin",
    )
    expect(page.get_by_role("link", name="Show all")).to_be_visible()
    walk.click(page.get_by_role("link", name="View site"), "View site")


CONTENT = {
    "/": dashboard,
    "/numbers/": numbers,
    "/numbers/buy/": buy_numbers,
    "/numbers/orders/": orders,
    "/numbers/idle/": idle_numbers,
    "/billing/transactions/": transactions,
    "/billing/balances/": balances,
    "/billing/spend/": spend,
    "/sync/": sync_runs,
    "/admin/": admin,
}


# --- The walk -------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("role", ["support", "finance", "admin"])
def test_walk_every_page_as_people_do(
    request, page, browser, live_server, console_errors, holdings, role, viewport
):
    user = request.getfixturevalue(f"{role}_user")
    page.set_viewport_size(viewport)

    walk = Walk(page, live_server.url, console_errors)
    walk.log_in(user.get_username())
    skip_to_content(page)
    entries = walk.entries()
    assert [name for name, _ in entries] == NAVIGATION[role]
    for name, href in entries:
        walk.follow(name, href)
        if action := CONTENT.get(walk.path):
            action(walk)
    walk.sign_out()
    assert not walk.violations, walk.report()

    # Without JavaScript: the same entries, and signing out.
    context = browser.new_context(java_script_enabled=False, viewport=viewport)
    try:
        plain = Walk(context.new_page(), live_server.url, ConsoleErrors(context), javascript=False)
        plain.log_in(user.get_username())
        skip_to_content(plain.page)
        assert plain.entries() == entries
        for name, href in entries:
            plain.follow(name, href)
        if plain.path.startswith("/admin/"):
            plain.click(plain.page.get_by_role("link", name="View site"), "View site")
        plain.sign_out()
    finally:
        context.close()
