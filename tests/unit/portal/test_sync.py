"""Sync against the sandbox over real HTTP: the database ends equal to the upstream,
idempotently, under faults, with bounded queries, one sync per account at a time."""

import threading
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BalanceSnapshot, Transaction
from billing.services import transactions as billing_services
from numbers.fees import monthly_equivalent
from numbers.models import FeeSource, PhoneNumber
from numbers.services import sync as number_services
from portal.db.prefetch import THREAD_NAME as PREFETCH_THREAD
from portal.models import AuditEvent, ProviderAccount, SyncRun
from portal.providers import adapter_class
from portal.providers.capabilities import Capability
from portal.providers.sandbox import build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.services import sync
from portal.services.sync import SyncAlreadyRunning, queue_sync, sync_account
from tests.support.sandbox import API_PATHS
from tests.support.threads import at_once
from tests.support.world import SLUGS, FailingAfter, World, serve


def upstream_numbers(world, slug):
    return {record["e164"] for record in world.state.owned_numbers(world.upstream(slug))}


def local_numbers(account, status=None):
    rows = PhoneNumber.objects.filter(account=account)
    if status:
        rows = rows.filter(status=status)
    return set(rows.values_list("number", flat=True))


NUMBER_FIELDS = ("number", "status", "upstream_label", "label", "monthly_fee", "updated_at")


def database_rows():
    """Every synced row, as values, to compare before and after."""
    return (
        sorted(PhoneNumber.objects.values_list(*NUMBER_FIELDS)),
        sorted(Transaction.objects.values_list("account_id", "upstream_id", "amount", "kind")),
        sorted(BalanceSnapshot.objects.values_list("account_id", "balance", "taken_at")),
    )


@pytest.mark.parametrize("slug", SLUGS)
def test_first_sync_makes_the_database_equal_to_the_upstream(world, slug):
    account = world.accounts[slug]
    run = sync_account(account)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert local_numbers(account, PhoneNumber.Status.ACTIVE) == upstream_numbers(world, slug)
    with adapter_class(slug)(world.config(slug)) as adapter:
        for record in adapter.iter_owned_numbers():
            row = PhoneNumber.objects.get(account=account, number=record.number)
            assert row.status == record.status
            assert row.upstream_label == record.label
            if record.monthly_fee is not None:
                # The provider's price per its period, and its monthly equivalent.
                assert row.period_fee == record.monthly_fee
                assert row.monthly_fee == monthly_equivalent(
                    record.monthly_fee, adapter.rental_period_days
                )
                assert row.monthly_fee_source == FeeSource.LISTING
            else:  # Audian lists no fee: the account's service plan prices the number
                assert row.monthly_fee is not None
                assert row.monthly_fee_source == FeeSource.PLAN
            if record.setup_fee is not None:
                assert (row.setup_fee, row.setup_fee_source) == (
                    record.setup_fee,
                    FeeSource.LISTING,
                )
    adapter = adapter_class(slug)
    if adapter.supports(Capability.TRANSACTIONS):
        ledger = world.state.transactions(world.upstream(slug))
        stored = Transaction.objects.filter(account=account, is_estimate=False)
        assert stored.count() == len(ledger)
        total = sum(Decimal(row["amount"]) for row in ledger)
        assert sum(stored.values_list("amount", flat=True)) == total
    else:
        assert Transaction.objects.filter(account=account, is_estimate=False).count() == 0
        assert Transaction.objects.filter(account=account, is_estimate=True).exists()
    if adapter.supports(Capability.BALANCE):
        snapshot = BalanceSnapshot.objects.get(account=account)
        assert snapshot.balance == world.state.balance(world.upstream(slug))
    assert run.rows_created > 0
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.SYNC, object_id=str(account.pk)
    ).exists()


@pytest.mark.parametrize("slug", SLUGS)
def test_a_second_sync_with_nothing_new_writes_nothing(world, slug):
    account = world.accounts[slug]
    assert sync_account(account).status == SyncRun.Status.SUCCEEDED
    before = database_rows()
    again = sync_account(account)
    assert again.status == SyncRun.Status.SUCCEEDED, again.error
    assert (again.rows_created, again.rows_updated, again.rows_released) == (0, 0, 0)
    assert database_rows() == before


def test_changes_upstream_are_mirrored_and_the_portal_label_survives(world):
    slug = "vobiz"
    account, upstream = world.accounts[slug], world.upstream(slug)
    sync_account(account)
    kept, gone = sorted(upstream_numbers(world, slug))[:2]
    PhoneNumber.objects.filter(number=kept).update(label="Customer 42")
    world.state.release(upstream, gone)
    run = sync_account(account)
    assert run.rows_released == 1
    released = PhoneNumber.objects.get(number=gone)
    assert released.status == PhoneNumber.Status.RELEASED and released.released_at
    # Bought back: the same row comes back to life.
    world.state.buy(upstream, gone)
    sync_account(account)
    back = PhoneNumber.objects.get(number=gone)
    assert back.pk == released.pk
    assert back.status == PhoneNumber.Status.ACTIVE and back.released_at is None
    assert PhoneNumber.objects.get(number=kept).label == "Customer 42"


def test_a_relabel_upstream_is_updated(world):
    slug = "audian"  # the provider whose listing carries its label
    account, upstream = world.accounts[slug], world.upstream(slug)
    sync_account(account)
    number = sorted(upstream_numbers(world, slug))[0]
    PhoneNumber.objects.filter(number=number).update(label="Ours")
    world.state.set_label(upstream, number, "Front desk, Zürich")
    run = sync_account(account)
    assert run.rows_updated == 1
    row = PhoneNumber.objects.get(number=number)
    assert (row.upstream_label, row.label) == ("Front desk, Zürich", "Ours")


def test_an_outage_fails_cleanly_and_the_next_run_completes(db, settings):
    settings.UPSTREAM_RETRY = {**settings.UPSTREAM_RETRY, "attempts": 2, "wait_max": 0.01}
    state = build_state(numbers=30, transactions=10, inventory=6)
    with serve(state) as url:
        world = World(state, url)
        account = world.accounts["ravan"]  # estimates rentals locally: still a failed run
        sync_account(account)
        numbers = local_numbers(account, PhoneNumber.Status.ACTIVE)
    # The sandbox is gone: every request fails to connect.
    run = sync_account(account)
    assert run.status == SyncRun.Status.FAILED
    assert "Ravan could not be reached (connection refused)" in run.error
    assert local_numbers(account, PhoneNumber.Status.ACTIVE) == numbers  # nothing released
    with serve(state) as url:
        ProviderAccount.objects.filter(pk=account.pk).update(base_url=f"{url}{API_PATHS['ravan']}")
        account.refresh_from_db()
        assert sync_account(account).status == SyncRun.Status.SUCCEEDED


@pytest.mark.parametrize("slug", SLUGS)
def test_with_a_fifth_of_requests_failing_the_sync_still_ends_exact(db, settings, slug):
    settings.UPSTREAM_RETRY = {**settings.UPSTREAM_RETRY, "attempts": 12, "wait_max": 0.01}
    state = build_state(numbers=260, transactions=120, inventory=6)
    with serve(state, FaultConfig(rate=0.2, seed=5, retry_after="0")) as url:
        world = World(state, url)
        account = world.accounts[slug]
        run = sync_account(account)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert local_numbers(account, PhoneNumber.Status.ACTIVE) == upstream_numbers(world, slug)
        if adapter_class(slug).supports(Capability.TRANSACTIONS):
            assert Transaction.objects.filter(account=account).count() == len(
                state.transactions(world.upstream(slug))
            )


def test_queries_grow_with_pages_not_rows(db, monkeypatch):
    monkeypatch.setattr(number_services, "LISTING_BATCH_SIZE", 500)
    monkeypatch.setattr(sync, "PROGRESS_EVERY_SECONDS", 0)  # counted per batch, not per second

    def queries_per_sync(numbers):
        """Queries of a first sync and of a second one that changes nothing."""
        state = build_state(numbers=numbers, transactions=0, inventory=1)
        counts = []
        with serve(state) as url:
            account = World(state, url).accounts["tryvox"]
            for _ in range(2):
                with CaptureQueriesContext(connection) as captured:
                    sync_account(account, SyncRun.Kind.NUMBERS)
                counts.append(len(captured))
        PhoneNumber.objects.all().delete()
        ProviderAccount.objects.all().delete()
        return counts

    # Sync writes in batches of LISTING_BATCH_SIZE (500 here): 10 and 400 are one, 1,200 three.
    _, again_10 = queries_per_sync(10)
    _, again_400 = queries_per_sync(400)
    first_1200, again_1200 = queries_per_sync(1200)
    assert again_10 == again_400  # a batch costs the same whatever its size
    # Per extra batch: a lookup, a progress update, the batch's savepoint pair and, on
    # PostgreSQL, the label facts' lock (numbers.services.label_facts).
    per_batch = 5 if connection.vendor == "postgresql" else 4
    assert again_1200 - again_400 <= 2 * per_batch
    # Inserts come in bulk (SQLite caps each INSERT at 999 parameters: 38 rows of 26
    # columns), not a query per row.
    assert first_1200 < 1200 / 16


@pytest.mark.parametrize(("every", "mid_step_writes"), [(0, 4), (3600, 0)])
def test_progress_is_written_at_most_as_often_as_the_page_polls(
    db, monkeypatch, every, mid_step_writes
):
    """Figures of a running sync are written as batches go, but no more often than
    PROGRESS_EVERY_SECONDS; the figures at the end are whole either way."""
    monkeypatch.setattr(number_services, "LISTING_BATCH_SIZE", 100)
    monkeypatch.setattr(sync, "PROGRESS_EVERY_SECONDS", every)
    state = build_state(numbers=400, transactions=0, inventory=1)
    with serve(state) as url:
        account = World(state, url).accounts["tryvox"]
        with CaptureQueriesContext(connection) as captured:
            run = sync_account(account, SyncRun.Kind.NUMBERS)
    run_writes = [
        query["sql"]
        for query in captured
        if query["sql"].startswith('UPDATE "portal_syncrun"') and "rows_fetched" in query["sql"]
    ]
    # Besides the mid-step writes: one as each step ends and one as the run does.
    assert len(run_writes) == mid_step_writes + len(sync.steps_for(SyncRun.Kind.NUMBERS)) + 1
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.rows_fetched == run.rows_created == 400


def test_two_syncs_of_one_account_never_run_at_once(world):
    account = world.accounts["audian"]
    queued = queue_sync(account)
    with pytest.raises(SyncAlreadyRunning):
        sync_account(account)
    with pytest.raises(SyncAlreadyRunning):
        queue_sync(account)
    finished = sync_account(account, run=queued)
    assert finished.status == SyncRun.Status.SUCCEEDED
    assert sync_account(account).status == SyncRun.Status.SUCCEEDED  # free again
    assert local_numbers(account, PhoneNumber.Status.ACTIVE) == upstream_numbers(world, "audian")


def test_estimates_follow_the_rental_period(world):
    account = world.accounts["ravan"]
    sync_account(account)
    number = PhoneNumber.objects.filter(account=account).order_by("purchased_at").first()
    estimates = Transaction.objects.filter(phone_number=number, is_estimate=True).order_by(
        "occurred_at"
    )
    assert estimates.exists()
    dates = list(estimates.values_list("occurred_at", flat=True))
    assert all(later - earlier == timedelta(days=28) for earlier, later in pairwise(dates))
    # Each renewal at the price Ravan states per 28 days, not its monthly equivalent.
    assert set(estimates.values_list("amount", flat=True)) == {number.period_fee}
    assert number.monthly_fee == monthly_equivalent(number.period_fee, 28) > number.period_fee
    assert dates[-1] <= timezone.now()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_syncs_of_one_account_one_runs_the_other_is_refused():
    state = build_state(numbers=150, transactions=40, inventory=2)
    with serve(state, FaultConfig(latency=0.02)) as url:
        account = World(state, url).accounts["vobiz"]
        outcomes = []

        def sync():
            try:
                outcomes.append(sync_account(account).status)
            except SyncAlreadyRunning:
                outcomes.append("refused")

        at_once(sync)
        assert sorted(outcomes) == ["refused", SyncRun.Status.SUCCEEDED]
        assert local_numbers(account, PhoneNumber.Status.ACTIVE) == {
            record["e164"]
            for record in state.owned_numbers(state.account("vobiz", account.upstream_account_id))
        }
        assert Transaction.objects.filter(account=account).count() == len(
            state.transactions(state.account("vobiz", account.upstream_account_id))
        )


def prefetch_threads():
    return [thread for thread in threading.enumerate() if thread.name == PREFETCH_THREAD]


@pytest.fixture
def paged_world(db, monkeypatch):
    """Listings of several pages (Vobiz pages by 100), written in batches of 50."""
    monkeypatch.setattr(number_services, "LISTING_BATCH_SIZE", 50)
    monkeypatch.setattr(billing_services, "LISTING_BATCH_SIZE", 50)
    state = build_state(numbers=250, transactions=260, inventory=2)
    with serve(state) as url:
        yield World(state, url)


def test_a_listing_failing_part_way_releases_nothing_and_leaves_no_thread(paged_world):
    account, upstream = paged_world.accounts["vobiz"], paged_world.upstream("vobiz")
    assert sync_account(account, SyncRun.Kind.NUMBERS).status == SyncRun.Status.SUCCEEDED
    live = local_numbers(account, PhoneNumber.Status.ACTIVE)
    gone = sorted(live)[-1]  # on the last page, which will fail
    paged_world.state.release(upstream, gone)

    failing = FailingAfter("/numbers", allowed=2)
    run = sync_account(account, SyncRun.Kind.NUMBERS, transport=failing)
    assert run.status == SyncRun.Status.FAILED
    assert failing.sent == 3  # the failed page was the last one read
    assert run.rows_released == 0
    assert local_numbers(account, PhoneNumber.Status.ACTIVE) == live
    assert not prefetch_threads()

    run = sync_account(account, SyncRun.Kind.NUMBERS)
    assert (run.status, run.rows_released) == (SyncRun.Status.SUCCEEDED, 1)
    assert local_numbers(account, PhoneNumber.Status.ACTIVE) == live - {gone}


def test_a_ledger_failing_part_way_fails_the_step_and_keeps_the_pages_before(paged_world):
    account, upstream = paged_world.accounts["vobiz"], paged_world.upstream("vobiz")
    run = sync_account(
        account, SyncRun.Kind.TRANSACTIONS, transport=FailingAfter("/transactions", allowed=2)
    )
    assert run.status == SyncRun.Status.FAILED
    assert not prefetch_threads()
    # Two pages of 100 read, each of their rows stored once: append-only rows are right.
    stored = set(Transaction.objects.filter(account=account).values_list("upstream_id", flat=True))
    ledger = [row["id"] for row in paged_world.state.transactions(upstream)]
    assert len(stored) == 200 and stored < set(ledger)


def test_the_reading_thread_never_touches_the_database(paged_world):
    threads = []

    def connected(sender, connection, **kwargs):
        threads.append(threading.current_thread().name)

    connection_created.connect(connected)
    try:
        for slug in SLUGS:
            assert sync_account(paged_world.accounts[slug]).status == SyncRun.Status.SUCCEEDED
    finally:
        connection_created.disconnect(connected)
    assert PREFETCH_THREAD not in threads
    assert not prefetch_threads()


@pytest.mark.parametrize("slug", ["audian", "vobiz"])
def test_transactions_link_to_the_numbers_they_name(world, slug):
    account = world.accounts[slug]
    assert sync_account(account).status == SyncRun.Status.SUCCEEDED
    numbers = dict(
        PhoneNumber.objects.filter(provider=account.provider).values_list("number", "pk")
    )
    rows = Transaction.objects.filter(account=account, is_estimate=False)
    links = list(rows.values_list("number", "phone_number_id"))
    assert any(phone_id for _, phone_id in links)
    assert all(phone_id == numbers.get(number) for number, phone_id in links)
