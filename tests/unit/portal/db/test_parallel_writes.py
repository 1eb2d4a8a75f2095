"""Writing batches on two connections at once: every batch written once, counts summed,
errors raised to the caller, and no thread or connection left behind, however the caller
leaves; the serial writer wherever two connections cannot work."""

import threading
import time

import pytest
from django.db import connection

from billing.models import Transaction
from billing.services import transactions as billing_services
from numbers.models import PhoneNumber
from portal.db.parallel_writes import (
    THREAD_NAME,
    ParallelWriter,
    SerialWriter,
    batch_writer,
)
from portal.models import SyncRun
from portal.providers.sandbox import build_state
from portal.services.sync import sync_account
from tests.support.world import FailingAfter, World, in_process, serve


def writer_threads():
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]


class Recorder:
    """A write that records which batch it wrote in which thread; `fail_on` raises."""

    def __init__(self, fail_on=None, pause=0.0):
        self.fail_on, self.pause = fail_on, pause
        self.written, self.threads = [], set()
        self.lock = threading.Lock()

    def __call__(self, batch):
        time.sleep(self.pause)
        if batch == self.fail_on:
            raise RuntimeError(f"batch {batch} failed")
        with self.lock:
            self.written.append(batch)
            self.threads.add(threading.current_thread().ident)
        return batch


def test_every_batch_is_written_once_and_the_counts_add_up():
    write = Recorder(pause=0.01)
    with ParallelWriter(write) as writer:
        for batch in range(1, 21):
            writer.submit(batch)
    assert sorted(write.written) == list(range(1, 21))
    assert writer.done == sum(range(1, 21))
    assert len(write.threads) == 2  # both at work
    assert not writer_threads()


def test_a_failed_write_is_raised_to_the_caller_and_the_threads_end():
    write = Recorder(fail_on=3)
    with pytest.raises(RuntimeError, match="batch 3 failed"), ParallelWriter(write) as writer:
        for batch in range(1, 50):
            writer.submit(batch)
            time.sleep(0.002)
    assert 3 not in write.written
    assert len(write.written) < 48  # it stopped soon after, not at the end
    assert not writer_threads()


def test_the_callers_own_error_wins_and_the_writes_begun_are_finished():
    write = Recorder(pause=0.05)
    with pytest.raises(ConnectionError), ParallelWriter(write) as writer:
        writer.submit(1)
        writer.submit(2)
        raise ConnectionError("the listing broke")
    assert sorted(write.written) == [1, 2]
    assert not writer_threads()


def test_the_serial_writer_writes_in_the_callers_thread():
    write = Recorder()
    with SerialWriter(write) as writer:
        writer.submit(4)
        writer.submit(5)
    assert write.written == [4, 5] and writer.done == 9
    assert write.threads == {threading.get_ident()}


@pytest.mark.django_db
def test_inside_a_transaction_batches_are_written_in_it():
    # Another connection would not see what this transaction has not committed.
    assert isinstance(batch_writer(Recorder()), SerialWriter)


def database_sessions(until=None) -> int | None:
    """Connections to this database (PostgreSQL's count; None elsewhere), once the count
    has held still (or equals `until`) for a moment: a connection a thread has just closed
    stays listed until its server process has gone, so one read may count it or not."""
    if connection.vendor != "postgresql":
        return None
    counts = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            counts.append(cursor.fetchone()[0])
        if counts[-1] == until or counts[-3:] == [counts[-1]] * 3:
            break
        time.sleep(0.1)
    return counts[-1]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_ledger_written_on_two_connections_is_stored_whole(monkeypatch):
    monkeypatch.setattr(billing_services, "LISTING_BATCH_SIZE", 40)
    parallel = connection.vendor == "postgresql"
    assert isinstance(batch_writer(Recorder()), ParallelWriter if parallel else SerialWriter)
    state = build_state(numbers=60, transactions=500, inventory=1)
    world = in_process(state)
    account = world.accounts["vobiz"]
    numbers = sync_account(account, SyncRun.Kind.NUMBERS, transport=world.transport)
    assert numbers.status == SyncRun.Status.SUCCEEDED
    before = database_sessions()
    run = sync_account(account, SyncRun.Kind.TRANSACTIONS, transport=world.transport)
    if parallel:
        # The writers' connections are closed: none more than before (one the numbers sync
        # had just closed may be gone by now).
        assert database_sessions(until=before) <= before
    ledger = state.transactions(world.upstream("vobiz"))
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.rows_created == len(ledger) == 500
    stored = Transaction.objects.filter(account=account)
    assert set(stored.values_list("upstream_id", flat=True)) == {row["id"] for row in ledger}
    # Linked to the numbers they name, whichever connection wrote them.
    numbered = stored.exclude(number="")
    assert numbered.exists()
    assert (
        not numbered.filter(phone_number__isnull=True)
        .filter(number__in=PhoneNumber.objects.filter(account=account).values("number"))
        .exists()
    )
    assert not writer_threads()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_ledger_failing_part_way_counts_every_row_it_wrote(monkeypatch):
    monkeypatch.setattr(billing_services, "LISTING_BATCH_SIZE", 50)
    state = build_state(numbers=20, transactions=500, inventory=1)
    with serve(state) as url:
        account = World(state, url).accounts["vobiz"]
        run = sync_account(
            account, SyncRun.Kind.TRANSACTIONS, transport=FailingAfter("/transactions", allowed=3)
        )
    assert run.status != SyncRun.Status.SUCCEEDED
    stored = Transaction.objects.filter(account=account).count()
    assert stored == 300  # three pages of 100 read, each batch of them written
    assert run.rows_created == stored
    assert not writer_threads()
