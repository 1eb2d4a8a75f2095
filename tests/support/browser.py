"""What the browser tests share: the console's errors (`ConsoleErrors`), Content Security
Policy violations as a page reports them (`PolicyWatch`), a Chart.js chart as drawn, the
number search's result rows, and a page signed in with JavaScript off."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, WebError

from tests.support.factories import PASSWORD


class ConsoleErrors:
    """Errors that pages of one browser context log to the console, and uncaught exceptions.

    A page meant to answer 403 or 404 makes Chromium log "Failed to load resource: ... status
    of 403"; `expect_status` allows exactly that message for exactly that path."""

    LOAD_FAILED = re.compile(r"status of (\d{3})")

    def __init__(self, context: BrowserContext):
        self.context = context
        self.errors: list[str] = []
        self.expected: set[tuple[int, str]] = set()
        context.on("console", self._on_console)
        context.on("weberror", self._on_web_error)

    def expect_status(self, status: int, path: str):
        self.expected.add((status, path))

    def _on_console(self, message: ConsoleMessage):
        if message.type != "error":
            return
        url = message.location.get("url", "")
        failed = self.LOAD_FAILED.search(message.text)
        if failed and (int(failed.group(1)), urlsplit(url).path) in self.expected:
            return
        self.errors.append(f"{message.text} (at {url})")

    def _on_web_error(self, error: WebError):
        page = error.page.url if error.page else "?"
        self.errors.append(f"uncaught {error.error.name}: {error.error.message} (on {page})")

    def collected(self) -> list[str]:
        # A round trip to the browser delivers console events still on their way.
        for page in self.context.pages:
            if not page.is_closed():
                page.evaluate("0")
        return self.errors


# Runs before any script of every page: keeps the violations the page reports.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""
CSP_MESSAGE = re.compile(r"Content[ -]Security[ -]Policy", re.IGNORECASE)


class PolicyWatch:
    """Violations in one browser context: console messages of any level, and the events
    each page recorded, gathered before the page is left."""

    def __init__(self, page):
        self.page = page
        self.messages = []
        self.events = []
        page.context.add_init_script(RECORD_VIOLATIONS)
        page.context.on("console", self._on_console)

    def _on_console(self, message):
        if CSP_MESSAGE.search(message.text):
            self.messages.append(f"{message.type}: {message.text}")

    def visit(self, url):
        self.gather()
        self.page.goto(url)

    def gather(self):
        if self.page.url.startswith("http"):
            self.events += self.page.evaluate("window.cspViolations || []")
            self.page.evaluate("window.cspViolations = []")
        return self.messages + self.events


def drawn_chart(page, canvas):
    """Wait until Chart.js has drawn on `canvas`; return the chart's datasets and whether
    any pixel is painted."""
    # Chart.js loads deferred: until it has, `Chart` is not defined at all, and a predicate
    # that throws ends the wait instead of polling again.
    page.wait_for_function(
        "canvas => window.Chart !== undefined && Chart.getChart(canvas) !== undefined",
        arg=canvas,
    )
    return canvas.evaluate(
        """canvas => {
            const pixels = canvas.getContext("2d")
                .getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
            return {datasets: Chart.getChart(canvas).data.datasets.map(d => d.data), painted};
        }"""
    )


def result_rows(page, provider):
    return page.locator(f"[data-testid=search-results] tbody tr[data-provider={provider}]")


@contextmanager
def signed_in_without_javascript(browser: Browser, base_url, user, **options) -> Iterator[Page]:
    """A page of a new browser context (`options` for it) with JavaScript off, signed in as
    `user` through the login form as a plain form post; the context is closed afterwards.
    The page is left where signing in leads."""
    context = browser.new_context(java_script_enabled=False, **options)
    try:
        page = context.new_page()
        page.goto(f"{base_url}/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        yield page
    finally:
        context.close()
