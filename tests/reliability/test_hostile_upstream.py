"""A hostile or broken upstream cannot hang, flood or exhaust the portal.

Each test points a provider account at tests/support/hostile.py (real HTTP on loopback),
syncs it once while the upstream is sane, turns on one misbehaviour and syncs again: the
step ends within its deadline (plus a margin for a loaded machine), the run says why in
words, and nothing stored is lost (no number released, no transaction gone). The limits
are the small ones of tests/settings.py, with tighter deadlines (`tight_deadlines`).
"""

import os
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from numbers.models import PhoneNumber
from portal.models import ProviderAccount, SyncRun
from portal.services.sync import sync_account
from tests.support.hostile import ACCOUNT_IDS, PROVIDERS, SANE_NUMBERS, HostileUpstream
from tests.support.under_attack import account_at, stored

BASE_DIR = Path(__file__).resolve().parents[2]
# What a loaded two-core machine may add to a deadline before the step has ended.
MARGIN = 4.0
# Providers whose ledger the portal reads (the others' rentals are estimated locally).
LEDGERS = ("audian", "vobiz")
NUMBER_LISTS = [(slug, "numbers") for slug in PROVIDERS]
LEDGER_LISTS = [(slug, "transactions") for slug in LEDGERS]
# Providers whose owned numbers come in pages (Ravan sends one list).
PAGED = ("audian", "vobiz", "tryvox")


def request_deadline() -> float:
    return django_settings.UPSTREAM_REQUEST_DEADLINE


def run_deadline() -> float:
    return django_settings.SYNC_RUN_DEADLINE.total_seconds()


@pytest.fixture(autouse=True)
def tight_deadlines(settings):
    """2 s a request, 10 s a run: a hostile upstream is given no more (the test settings
    allow more, for the big sandbox worlds of other tests on a loaded machine)."""
    settings.UPSTREAM_REQUEST_DEADLINE = 2.0
    settings.SYNC_RUN_DEADLINE = timedelta(seconds=10)


@pytest.fixture
def upstream():
    with HostileUpstream() as server:
        yield server


@pytest.fixture
def synced(db, upstream):
    """`synced(slug)`: an account at the hostile upstream, synced once while it was sane."""

    def make(slug: str) -> ProviderAccount:
        account = account_at(upstream, slug)
        for kind in ("numbers", "transactions"):
            run = sync_account(account, kind)
            assert run.status == SyncRun.Status.SUCCEEDED, run.error
        numbers, ledger = stored(account)
        assert numbers == [(number, "active") for number in SANE_NUMBERS]
        assert len(ledger) == (2 if slug in LEDGERS else 0)
        return account

    return make


def attack(upstream, account, mode, target, **server_settings):
    """Sync `target` of `account` while the upstream misbehaves; (run, seconds taken).
    Fails unless what was stored before is all still there, unchanged (a flood may add
    rows: a failed step keeps what it wrote, never releases or removes)."""
    numbers_before, ledger_before = stored(account)
    for name, value in server_settings.items():
        setattr(upstream, name, value)
    upstream.misbehave(mode, target=target)
    upstream.prepare(account.provider.slug)
    started = time.monotonic()
    run = sync_account(account, target)
    elapsed = time.monotonic() - started
    numbers_after, ledger_after = stored(account)
    assert set(numbers_before) <= set(numbers_after), "a number was released or lost"
    assert set(ledger_before) <= set(ledger_after), "a transaction was lost"
    assert run.status == SyncRun.Status.FAILED, (run.status, run.error)
    return run, elapsed


# --- 1. Listings that never end -----------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "target"),
    [*[(slug, "numbers") for slug in PAGED], *LEDGER_LISTS],
)
def test_pages_that_promise_more_for_ever_stop_at_the_repeated_page(upstream, synced, slug, target):
    """The same two rows on every page, with a total of a billion (TryVox made 2,469
    requests and was still going)."""
    run, elapsed = attack(upstream, synced(slug), "endless", target)
    assert "kept sending pages (2 requests)" in run.error, run.error
    assert upstream.target_requests() == 2
    assert elapsed < request_deadline() * 2 + MARGIN


@pytest.mark.parametrize(
    ("slug", "target"), [*[(slug, "numbers") for slug in PAGED], ("vobiz", "transactions")]
)
def test_an_upstream_that_ignores_the_page_asked_for_is_caught_at_once(
    upstream, synced, slug, target
):
    """Every page or offset answers the first page again, with a finite total (500): read
    to the end, the listing would hold two numbers and the sync release the rest."""
    run, _ = attack(upstream, synced(slug), "repeated_offset", target)
    assert "kept sending pages (2 requests)" in run.error, run.error
    assert upstream.target_requests() == 2


def test_a_cursor_that_cycles_is_caught_when_it_comes_back(upstream, synced):
    """Audian's Kazoo cursor start → A → B → A: not the key just sent, but one seen."""
    run, _ = attack(upstream, synced("audian"), "cursor_cycle", "transactions")
    assert "kept sending pages (3 requests)" in run.error, run.error
    assert upstream.target_requests() == 3


@pytest.mark.parametrize(("slug", "target"), [*NUMBER_LISTS, *LEDGER_LISTS])
def test_new_rows_without_end_stop_at_the_ceiling_of_their_kind(
    upstream, synced, settings, slug, target
):
    account = synced(slug)
    limits = settings.UPSTREAM_LIST_LIMITS
    settings.UPSTREAM_LIST_LIMITS = {**limits, target: {**limits[target], "rows": 1000}}
    run, elapsed = attack(upstream, account, "flood", target)
    assert "kept sending" in run.error and "more than 1,000" in run.error, run.error
    # Pages of 100: the ceiling is passed on the eleventh; Ravan's one list is one request.
    assert upstream.target_requests() == (1 if slug == "ravan" else 11)
    assert elapsed < run_deadline() + MARGIN


# --- 2. Bodies past their limit -------------------------------------------------------------


@pytest.mark.parametrize(("slug", "target"), [*NUMBER_LISTS, *LEDGER_LISTS])
def test_a_huge_answer_is_refused_once_it_passes_the_limit(upstream, synced, slug, target):
    run, elapsed = attack(upstream, synced(slug), "huge_body", target)
    assert "response larger than" in run.error, run.error
    assert elapsed < request_deadline() + MARGIN


@pytest.mark.parametrize(("slug", "target"), [*NUMBER_LISTS, *LEDGER_LISTS])
def test_a_gzip_bomb_is_refused_by_its_inflated_size(upstream, synced, slug, target):
    run, elapsed = attack(upstream, synced(slug), "gzip_bomb", target)
    assert "response larger than" in run.error, run.error
    assert elapsed < request_deadline() + MARGIN


# What a listing costs in memory, measured in a process of its own: the child reports its
# own peak (RUSAGE_SELF at its end equals what the parent would read as RUSAGE_CHILDREN for
# it alone; the test process's RUSAGE_CHILDREN is the peak of every child it ever ran).
PEAK_OF_A_LISTING = textwrap.dedent(
    """
    import resource, sys
    import django
    django.setup()
    from portal.providers import adapter_class
    from portal.providers.base import AccountConfig
    slug, url, account_id = sys.argv[1:4]
    adapter = adapter_class(slug)(AccountConfig(url, account_id, "hostile-test-key"))
    try:
        print("listed", sum(1 for _ in adapter.iter_owned_numbers()))
    except Exception as exc:
        print("refused", exc)
    print("peak_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


def peak_of_listing(upstream, slug) -> tuple[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", PEAK_OF_A_LISTING, slug, upstream.base_url(slug), ACCOUNT_IDS[slug]],
        cwd=BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    said, peak = result.stdout.strip().splitlines()[-2:]
    return said, int(peak.split()[1])


@pytest.mark.parametrize("slug", ["tryvox", "ravan"])  # a page read whole; one list streamed
@pytest.mark.parametrize(
    ("mode", "size"),
    # The figures: 400 MB inflated from a gzip body, 200 MB of whitespace.
    [("gzip_bomb", {"bomb_bytes": 400 << 20}), ("huge_body", {"huge_bytes": 200 << 20})],
)
def test_memory_stays_bounded_whatever_the_body_inflates_to(upstream, slug, mode, size):
    said, baseline_kb = peak_of_listing(upstream, slug)
    assert said == "listed 2"
    for name, value in size.items():
        setattr(upstream, name, value)
    upstream.misbehave(mode)
    upstream.prepare(slug)
    said, peak_kb = peak_of_listing(upstream, slug)
    assert said.startswith("refused") and "response larger than" in said, said
    growth_mb = (peak_kb - baseline_kb) / 1024
    assert growth_mb < 48, f"{mode} grew the process by {growth_mb:.0f} MB"


# --- 3. Deadlines ---------------------------------------------------------------------------


@pytest.mark.parametrize("slug", PROVIDERS)
def test_an_answer_trickling_a_byte_at_a_time_ends_at_the_deadline(upstream, synced, slug):
    """Never silent long enough for a read timeout (20 s), never finished either. Ravan's
    one list may take as long as a sync may, but must keep coming: 64 KB a request
    deadline."""
    run, elapsed = attack(upstream, synced(slug), "trickle", "numbers")
    if slug == "ravan":
        assert "to send the next 64 KB of its list" in run.error, run.error
    assert "took longer than 2 seconds" in run.error, run.error
    assert elapsed < request_deadline() + MARGIN


@pytest.mark.parametrize("slug", PROVIDERS)
def test_an_upstream_that_never_answers_ends_at_the_request_deadline(upstream, synced, slug):
    run, elapsed = attack(upstream, synced(slug), "silent", "numbers")
    assert "took longer than" in run.error, run.error
    assert elapsed < request_deadline() + MARGIN


def test_a_run_past_its_deadline_ends_partial_keeping_what_its_finished_steps_wrote(
    upstream, synced, settings
):
    """Pages that each come in time, without end, and rows below every ceiling: only the
    run's own deadline stops it. The numbers step, finished first, keeps what it wrote."""
    settings.SYNC_RUN_DEADLINE = timedelta(seconds=3)
    account = synced("vobiz")
    upstream.delay_seconds = 0.2
    upstream.misbehave("flood", target="transactions")
    started = time.monotonic()
    run = sync_account(account)
    elapsed = time.monotonic() - started
    assert run.status == SyncRun.Status.PARTIAL, (run.status, run.error)
    assert "took longer than 3 seconds" in run.error, run.error
    assert elapsed < 3 + MARGIN
    assert PhoneNumber.objects.filter(account=account, status="active").count() == 2


# --- 6. Redirects stay unfollowed -----------------------------------------------------------


@pytest.mark.parametrize("slug", PROVIDERS)
def test_a_redirect_to_an_internal_address_is_not_followed(upstream, synced, slug):
    with HostileUpstream() as internal:  # stands for the metadata service, say
        upstream.redirect_to = f"{internal.url}/latest/meta-data/"
        run, _ = attack(upstream, synced(slug), "redirect", "numbers")
        assert internal.requests == []
    assert "redirect" in run.error and "not follow" in run.error, run.error


# --- Junk instead of JSON -------------------------------------------------------------------


@pytest.mark.parametrize("slug", PROVIDERS)
@pytest.mark.parametrize("mode", ["invalid_json", "html"])
def test_an_answer_that_is_not_json_fails_the_step_and_loses_nothing(upstream, synced, slug, mode):
    run, elapsed = attack(upstream, synced(slug), mode, "numbers")
    assert "not JSON" in run.error, run.error
    assert elapsed < request_deadline() + MARGIN
