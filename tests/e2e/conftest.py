"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server.

Every test here gets the `e2e` marker and a transactional database with serialized rollback:
the live server reads what the test writes, so the test cannot run inside a transaction, and
the roles (groups made by a data migration) have to come back after each flush. A flush
leaves the database empty until the next such test restores it, so these tests run last.
"""

import os
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Page, expect

from portal.providers.sandbox import build_app
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from tests.support.browser import ConsoleErrors
from tests.support.factories import PASSWORD
from tests.support.market import Market, market_state

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

HERE = Path(__file__).parent


def is_e2e(item) -> bool:
    return HERE in item.path.parents


@pytest.hookimpl(trylast=True)  # after pytest-django has sorted the tests
def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session's items, so pick out the ones in this folder.
    for item in items:
        if is_e2e(item):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
    items.sort(key=is_e2e)


@pytest.fixture(scope="session")
def _database_before_the_event_loop(django_db_setup):
    """The test database, created before Playwright starts, and its serialized copy."""
    return {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }


@pytest.fixture(scope="session")
def playwright(_database_before_the_event_loop, playwright):
    # Playwright's sync API keeps an event loop running in this thread. Django then refuses
    # ORM calls here (factories, fixtures) unless told they are safe, only for as long as
    # the loop runs: the variable would also reach subprocesses other tests start.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # With a running loop, asgiref hands this thread new connection objects, which lack the
    # copy serialized rollback restores from.
    for alias, contents in _database_before_the_event_loop.items():
        connections[alias]._test_serialized_contents = contents
    yield playwright
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def live_server(playwright, live_server):
    # Started once the loop runs, so an in-memory SQLite database is shared with the
    # connection objects the tests use.
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM}: run "
            "`apt-get install chromium` (never `playwright install`).",
            pytrace=False,
        )
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(autouse=True)
def console_errors(context) -> ConsoleErrors:
    return ConsoleErrors(context)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    console = item.funcargs.get("console_errors")
    if console is not None and (errors := console.collected()):
        pytest.fail("The browser console reported errors:\n" + "\n".join(errors), pytrace=False)
    return result


@pytest.fixture
def submit_login_form(page: Page):
    """Fill in and send the login form on the page the browser shows now."""

    def submit(username: str, password: str = PASSWORD):
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.get_by_role("button", name="Sign in").click()

    return submit


@pytest.fixture
def log_in(page: Page, live_server, submit_login_form):
    """Sign in through the real login form, as a person would, and wait for the dashboard."""

    def log_in(user) -> Page:
        page.goto(f"{live_server.url}/login/")
        submit_login_form(user.get_username())
        expect(page).to_have_url(f"{live_server.url}/")
        expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
        return page

    return log_in


@pytest.fixture
def market(live_server):
    """The market the buying pages shop in, its accounts committed for the live server."""
    state = market_state(inventory=4)
    with SandboxThread(build_app(state, FaultConfig())) as url:
        yield Market(state, url)
