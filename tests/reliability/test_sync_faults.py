"""Sync under faults: a fifth of all upstream requests failing (many seeds), a sync process
killed with SIGKILL part way, and the database going away under a request."""

import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.test import Client, RequestFactory
from django.utils import timezone

from billing.models import BalanceSnapshot, Transaction
from numbers.models import PhoneNumber
from numbers.services import sync as number_services
from portal.benchmark.server import production_env
from portal.db.workers import identity, process_gone, this_worker
from portal.error_pages import database_unreachable, server_error
from portal.models import AuditEvent, SyncRun
from portal.providers import adapter_class
from portal.providers.capabilities import Capability
from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from portal.services import sync
from portal.services.sync import (
    INTERRUPTED_MESSAGE,
    NEVER_STARTED,
    SyncAlreadyRunning,
    sync_account,
)
from tests.support.world import SLUGS, World, serve

QUICK_SEEDS, LONG_SEEDS = 3, 50


def pytest_generate_tests(metafunc):
    # `make test` tries a few seeds; `make test-long` (--long) the full fifty.
    if "fault_seed" in metafunc.fixturenames:
        count = LONG_SEEDS if metafunc.config.getoption("--long") else QUICK_SEEDS
        metafunc.parametrize("fault_seed", range(1, count + 1))


# --- Equal to the upstream ----------------------------------------------------------------


def assert_equal_to_upstream(world: World, slug: str):
    """Every owned number with its label and fee, every ledger entry with its amount, and
    the balance, as the upstream has them."""
    account, upstream = world.accounts[slug], world.upstream(slug)
    owned = {
        record["e164"]: record
        for record in world.state.owned_numbers(upstream, include_released=True)
    }
    live = {number for number, record in owned.items() if record["status"] != "released"}
    rows = PhoneNumber.objects.filter(account=account)
    assert (
        set(rows.exclude(status=PhoneNumber.Status.RELEASED).values_list("number", flat=True))
        == live
    )
    with adapter_class(slug)(world.config(slug)) as adapter:
        listed = {record.number: record for record in adapter.iter_owned_numbers()}
    for number, status, upstream_label, period_fee in rows.filter(number__in=live).values_list(
        "number", "status", "upstream_label", "period_fee"
    ):
        record = listed[number]
        assert (status, upstream_label) == (record.status, record.label), number
        if record.monthly_fee is not None:  # as stated, per the provider's rental period
            assert period_fee == record.monthly_fee, number
    capabilities = adapter_class(slug).capabilities
    if Capability.TRANSACTIONS in capabilities:
        ledger = world.state.transactions(upstream)
        stored = Transaction.objects.filter(account=account, is_estimate=False)
        assert stored.count() == len(ledger)
        assert sum(stored.values_list("amount", flat=True)) == sum(
            Decimal(entry["amount"]) for entry in ledger
        )
    if Capability.BALANCE in capabilities:
        latest = BalanceSnapshot.objects.filter(account=account).latest("taken_at")
        assert latest.balance == world.state.balance(upstream)


def change_upstream(world: World, slug: str):
    """What happens between two syncs: a number released, one relabelled, one bought, and
    new charges in the ledger."""
    upstream = world.upstream(slug)
    first, second = sorted(r["e164"] for r in world.state.owned_numbers(upstream))[:2]
    world.state.release(upstream, first)
    world.state.set_label(upstream, second, "Relabelled upstream")
    offer = world.state.search_inventory(slug)[0]
    world.state.buy(upstream, offer["e164"])


@pytest.mark.long
@pytest.mark.parametrize("slug", SLUGS)
def test_sync_under_a_fifth_of_requests_failing_ends_equal_to_the_upstream(
    db, settings, slug, fault_seed
):
    # Enough attempts that a read failing twelve times running (0.2**12) never happens;
    # no real waiting between them.
    settings.UPSTREAM_RETRY = {**settings.UPSTREAM_RETRY, "attempts": 12, "wait_max": 0.001}
    state = build_state(seed=fault_seed, numbers=230, transactions=150, inventory=4)
    faults = FaultConfig(rate=0.2, seed=fault_seed, retry_after="0")
    with serve(state, faults) as url:
        world = World(state, url)
        account = world.accounts[slug]

        first = sync_account(account)
        assert first.status == SyncRun.Status.SUCCEEDED, first.error
        assert_equal_to_upstream(world, slug)

        change_upstream(world, slug)
        second = sync_account(account)
        assert second.status == SyncRun.Status.SUCCEEDED, second.error
        assert_equal_to_upstream(world, slug)


# --- A sync process killed part way -------------------------------------------------------

# The sync command in a process of its own, writing in batches of 50 rows so that a kill
# lands between many commits.
SYNC_PROCESS = """
import sys

import django

django.setup()

from django.core.management import call_command

from billing.services import transactions as billing_services
from numbers.services import sync as number_services

number_services.LISTING_BATCH_SIZE = billing_services.LISTING_BATCH_SIZE = 50
call_command("sync", account=[int(sys.argv[1])])
"""
BATCH = 50


def start_sync_process(account) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SYNC_PROCESS, str(account.pk)],
        cwd=settings.BASE_DIR,
        # Production settings, but the sandbox it syncs from listens on loopback.
        env={**production_env(), "ALLOW_PRIVATE_UPSTREAMS": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_when(process: subprocess.Popen, rows, at_least: int, timeout: float = 60):
    """SIGKILL `process` as soon as `rows` holds `at_least` rows: in the middle of its
    writing, with no chance to clean up."""
    deadline = time.monotonic() + timeout
    while rows.count() < at_least:
        if process.poll() is not None:
            pytest.fail(f"the sync ended before it could be killed: {process.stderr.read()!r}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the sync wrote nothing in time")
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)  # reaped: the pid is gone, as after a crash
    process.stderr.close()


class HoldListing:
    """WSGI wrapper: the first `pages` requests for a listing (paths holding `part`) go
    through, later ones wait until `released`. The sync then sits mid-listing with whole
    batches written when it is killed, however slow the machine is."""

    def __init__(self, app, part: str, pages: int):
        self.app, self.part, self.pages = app, part, pages
        self.served = 0
        self.lock = threading.Lock()
        self.released = threading.Event()

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "GET" and self.part in environ["PATH_INFO"]:
            with self.lock:
                self.served += 1
                held = self.served > self.pages
            if held:
                self.released.wait(timeout=60)
        return self.app(environ, start_response)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(
    ("slug", "table", "listing"),
    [
        # Vobiz serves its ledger newest first: a sync cut off there has stored the newest
        # charges and not the older ones, which the next run must still fetch.
        ("vobiz", "transactions", "/transactions"),
        ("audian", "numbers", "/numbers"),
    ],
)
def test_a_sync_killed_part_way_leaves_whole_batches_and_the_next_run_completes(
    slug, table, listing
):
    state = build_state(numbers=600, transactions=1500, inventory=2)
    # Three pages of 100 are served, then the listing waits: the kill lands mid-listing.
    hold = HoldListing(build_app(state, FaultConfig()), listing, pages=3)
    with SandboxThread(hold) as url:
        world = World(state, url)
        account = world.accounts[slug]
        if table == "transactions":
            rows = Transaction.objects.filter(account=account)
            total = len(state.transactions(world.upstream(slug)))
        else:
            rows = PhoneNumber.objects.filter(account=account)
            total = len(state.owned_numbers(world.upstream(slug)))

        kill_when(start_sync_process(account), rows, at_least=2 * BATCH)
        hold.released.set()

        # No half-written batch: each one was committed whole or not at all.
        written = rows.count()
        assert written % BATCH == 0 and written < total, (written, total)
        killed = SyncRun.objects.get(account=account)
        assert killed.status == SyncRun.Status.RUNNING and killed.worker

        # The next start closes the dead run, then syncs everything.
        run = sync_account(account)

        killed.refresh_from_db()
        assert killed.status == SyncRun.Status.INTERRUPTED
        assert killed.error == INTERRUPTED_MESSAGE and killed.finished_at is not None
        assert AuditEvent.objects.filter(
            action=AuditEvent.Action.SYNC, after__run=killed.pk, after__status="interrupted"
        ).exists()
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert_equal_to_upstream(world, slug)


def test_a_run_silent_for_too_long_is_interrupted_by_the_next_start(db, settings):
    """A run whose process was lost with another host: once past its deadline (plus one
    request deadline) the next start ends it, whatever its heartbeat said."""
    state = build_state(numbers=20, transactions=20, inventory=2)
    with serve(state) as url:
        account = World(state, url).accounts["tryvox"]
        lost = SyncRun.objects.create(
            account=account, status=SyncRun.Status.RUNNING, worker="elsewhere:4242"
        )
        alive = SyncRun.objects.filter(pk=lost.pk)

        # Another host, recently alive: not ours to judge, so the account is still busy.
        with pytest.raises(SyncAlreadyRunning):
            sync_account(account)
        assert alive.get().status == SyncRun.Status.RUNNING

        silent_since = timezone.now() - sync.takeover_age() - timedelta(seconds=1)
        alive.update(started_at=silent_since, heartbeat_at=silent_since)
        run = sync_account(account)

    assert alive.get().status == SyncRun.Status.INTERRUPTED
    assert run.status == SyncRun.Status.SUCCEEDED, run.error


def test_a_queued_run_no_worker_started_is_closed_by_the_next_start(db, settings):
    state = build_state(numbers=20, transactions=20, inventory=2)
    with serve(state) as url:
        account = World(state, url).accounts["tryvox"]
        forgotten = SyncRun.objects.create(account=account, status=SyncRun.Status.QUEUED)
        long_ago = timezone.now() - sync.takeover_age() - timedelta(seconds=1)
        SyncRun.objects.filter(pk=forgotten.pk).update(started_at=long_ago)

        run = sync_account(account)

    forgotten.refresh_from_db()
    assert (forgotten.status, forgotten.error) == (SyncRun.Status.INTERRUPTED, NEVER_STARTED)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_run_closed_by_another_process_stops_and_stays_closed(monkeypatch):
    """Taken for dead while it was alive (a heartbeat too late): it must not write over the
    verdict, nor go on syncing beside the run started after it."""
    monkeypatch.setattr(number_services, "LISTING_BATCH_SIZE", 50)
    monkeypatch.setattr(sync, "PROGRESS_EVERY_SECONDS", 0)  # a write, so a check, per batch
    state = build_state(numbers=1500, transactions=20, inventory=2)
    with serve(state, FaultConfig(latency=0.03)) as url:
        account = World(state, url).accounts["vobiz"]
        outcome = []
        worker = threading.Thread(target=lambda: outcome.append(sync_account(account)))
        worker.start()
        try:
            running = SyncRun.objects.filter(account=account, status=SyncRun.Status.RUNNING)
            deadline = time.monotonic() + 30
            while not running.filter(rows_fetched__gt=0).exists():
                assert time.monotonic() < deadline, "the sync never got going"
                time.sleep(0.005)
            running.update(status=SyncRun.Status.INTERRUPTED, finished_at=timezone.now())
        finally:
            worker.join(timeout=60)
            connection.close()

    (run,) = outcome
    assert run.status == SyncRun.Status.INTERRUPTED
    # It stopped at its next write: the listing not finished, the ledger never read.
    assert PhoneNumber.objects.filter(account=account).count() < 1500
    assert not Transaction.objects.filter(account=account).exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SYNC).exists()


def test_a_process_is_judged_gone_only_when_it_can_be_seen_to_be():
    assert not process_gone(this_worker())  # this one runs
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    alive = identity(child.pid)
    host, _, namespace, started = alive.split(":")
    assert not process_gone(alive)
    assert process_gone(f"{host}:{child.pid}:{namespace}:{int(started) - 1}")  # pid reused
    child.kill()
    child.wait()
    assert process_gone(alive)
    # Another host, or another pid namespace (a container beside this one): not judged.
    assert not process_gone(f"elsewhere:{child.pid}:{namespace}:{started}")
    assert not process_gone(f"{host}:{child.pid}:4026531836999:{started}")
    assert not process_gone(f"{host}:{child.pid}")


# --- The database going away --------------------------------------------------------------


def unreachable_database(settings_dict: dict) -> dict:
    """The same database settings, pointing where no database answers."""
    if connection.vendor == "sqlite":
        return {**settings_dict, "NAME": "/nonexistent-directory/portal.sqlite3"}
    return {**settings_dict, "HOST": "127.0.0.1", "PORT": "1"}  # nothing listens on port 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/numbers/?q=415", {}),
        ("/billing/transactions/", {"HX-Request": "true", "HX-Target": "table"}),
    ],
)
def test_the_database_going_away_gives_a_clear_error_page(support_user, path, headers, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(support_user)
    working = connection.settings_dict
    connection.close()
    connection.settings_dict = unreachable_database(working)
    try:
        response = client.get(path, headers=headers)
    finally:
        connection.close()
        connection.settings_dict = working

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert "The portal cannot reach its database" in html
    assert f'href="{path}"' in html  # "Try again" repeats the request
    for leak in ("Traceback", "OperationalError", "psycopg", "sqlite3", working["NAME"]):
        assert leak not in html
    assert any(record.levelname == "ERROR" for record in caplog.records), "logged for admins"


def database_error(message: str, cause: Exception | None = None) -> OperationalError:
    error = OperationalError(message)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        (database_error("connection refused", psycopg.OperationalError("refused")), True),
        (database_error("terminating", psycopg.errors.AdminShutdown("terminating")), True),
        (database_error("lost", psycopg.errors.ConnectionFailure("lost")), True),
        (database_error("unable to open database file"), True),
        (InterfaceError("connection already closed"), True),
        # The database answered: a bug or load, not an outage.
        (database_error("deadlock", psycopg.errors.DeadlockDetected("deadlock")), False),
        (database_error("timeout", psycopg.errors.QueryCanceled("canceling statement")), False),
        (database_error("no such table: numbers_phonenumber"), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_a_database_out_of_reach_gets_the_503_page(error, unreachable):
    request = RequestFactory().get("/numbers/")
    try:
        raise error
    except Exception:
        response = server_error(request)

    assert database_unreachable(error) is unreachable
    assert response.status_code == (503 if unreachable else 500)


def test_after_a_post_the_error_page_leads_back_to_the_dashboard():
    request = RequestFactory().post("/numbers/bulk/")
    try:
        raise InterfaceError("connection already closed")
    except InterfaceError:
        html = server_error(request).content.decode()

    assert 'href="/">Back to the dashboard</a>' in html and ">Try again</a>" not in html


def test_the_error_page_never_links_off_the_portal():
    request = RequestFactory().get("/")
    request.path = request.path_info = "//elsewhere.example/numbers/"
    try:
        raise InterfaceError("connection already closed")
    except InterfaceError:
        response = server_error(request)

    assert response.status_code == 503
    html = response.content.decode()
    assert 'href="/"' in html and "elsewhere.example" not in html
