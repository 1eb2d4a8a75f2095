import json
import os
import tempfile
import time

import pytest

# The shared helpers' asserts say what they compared, as the tests' own do; registered before
# anything imports them.
pytest.register_assert_rewrite("tests.support")

from django.core.cache import caches  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

from portal.roles import FINANCE, SUPPORT  # noqa: E402
from tests.support.factories import UserFactory  # noqa: E402
from tests.support.paths import RELIABILITY_RESULTS  # noqa: E402

# Fixtures every folder shares: `world` (the sandbox's providers on loopback and the
# portal's accounts at them) and `market` (the same with stock to buy). A conftest or module
# defining a fixture of the same name overrides it there.
pytest_plugins = ["tests.support.world", "tests.support.market"]

# Hypothesis keeps what it learns (it reads this when it first writes) outside the checkout.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "portal-hypothesis")
)
# The property tests' defaults: the same examples every run, so a red CI can be reproduced
# rather than be a roll of the dice; no example database; a deadline would only measure the
# shared machine's load.
hypothesis_settings.register_profile(
    "portal", max_examples=25, deadline=None, derandomize=True, database=None
)
hypothesis_settings.load_profile("portal")


def pytest_addoption(parser):
    parser.addoption(
        "--long",
        action="store_true",
        help="run the long variants of the tests marked `long` (make test-long)",
    )


def pytest_collection_modifyitems(config, items):
    # A transactional test empties every table when it ends; without serialized_rollback the
    # data the migrations wrote (roles, default alert rules, content types) is gone for every
    # test after it on that worker.
    unserialized = [
        item.nodeid
        for item in items
        if (marker := item.get_closest_marker("django_db"))
        and marker.kwargs.get("transaction")
        and not marker.kwargs.get("serialized_rollback")
    ]
    if unserialized:
        raise pytest.UsageError(
            "transaction=True needs serialized_rollback=True: " + ", ".join(unserialized)
        )
    # A test marked long_only (the benchmark in miniature) belongs to `make test-long` alone.
    # Without --long it is deselected, as `-m` would do: a skip would show as skipped in CI.
    if config.getoption("--long"):
        return
    long_only = [item for item in items if item.get_closest_marker("long_only")]
    if long_only:
        config.hook.pytest_deselected(items=long_only)
        items[:] = [item for item in items if not item.get_closest_marker("long_only")]


def pytest_sessionstart(session):
    session.config.stash[_STARTED] = time.time()


def pytest_terminal_summary(terminalreporter, config):
    # Under xdist the tests run in workers: they leave their figures in files, which the
    # controlling process (the one that prints) reads here.
    started = config.stash.get(_STARTED, time.time())
    fresh = [
        path
        for path in sorted(RELIABILITY_RESULTS.glob("*.json"))
        if path.stat().st_mtime >= started
    ]
    if fresh:
        terminalreporter.section("reliability figures")
    for path in fresh:
        terminalreporter.write_line(json.dumps(json.loads(path.read_text())))


_STARTED = pytest.StashKey[float]()


@pytest.fixture(scope="session")
def long_run(request) -> bool:
    """True under `--long`: tests marked `long` then run their full size (more seeds, a
    longer load) instead of the quick variant `make test` runs."""
    return request.config.getoption("--long")


@pytest.fixture
def support_user(db):
    return UserFactory(username="sam-support", groups=[SUPPORT])


@pytest.fixture
def finance_user(db):
    return UserFactory(username="fiona-finance", groups=[FINANCE])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="ada-admin", is_staff=True, is_superuser=True)


@pytest.fixture
def plain_user(db):
    """Logged in, but in no group: may see the dashboard and nothing else."""
    return UserFactory(username="nora-nogroup")


@pytest.fixture(autouse=True)
def fresh_report_cache():
    """Each test starts without cached report results: its data is new, and on SQLite a
    rolled-back test's ids come back, so another test's results could match its key."""
    caches["reports"].clear()
