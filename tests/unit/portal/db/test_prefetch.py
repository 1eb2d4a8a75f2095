"""Reading ahead in a thread: items in order, errors raised to the caller where they
happened, the thread stopped and joined however the caller leaves."""

import threading
import time
from contextlib import closing

import pytest

from portal.db.prefetch import THREAD_NAME, prefetched


def reader_threads():
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]


class Listing:
    """A listing that records how far it was read, in which thread, and whether it was
    closed; `fail_at` raises on reading that item."""

    def __init__(self, count, fail_at=None):
        self.count, self.fail_at = count, fail_at
        self.read, self.threads, self.closed = 0, set(), False

    def __iter__(self):
        try:
            for index in range(self.count):
                self.threads.add(threading.current_thread().name)
                if index == self.fail_at:
                    raise ConnectionError(f"item {index} failed")
                self.read += 1
                yield index
        finally:
            self.closed = True


def test_items_come_in_order_read_in_the_background_thread():
    listing = Listing(50)
    assert list(prefetched(listing)) == list(range(50))
    assert listing.threads == {THREAD_NAME}
    assert listing.closed and not reader_threads()


def test_an_error_is_raised_to_the_caller_after_the_items_before_it():
    listing = Listing(10, fail_at=6)
    received = []
    with pytest.raises(ConnectionError, match="item 6 failed"):
        for item in prefetched(listing):
            received.append(item)
    assert received == [0, 1, 2, 3, 4, 5]
    assert listing.closed and not reader_threads()


def test_reading_stays_at_most_depth_items_ahead():
    listing = Listing(100)
    with closing(prefetched(listing, depth=2)) as items:
        assert next(items) == 0
        time.sleep(0.2)  # ample time to read everything, were reading unbounded
        # One item handed over, two waiting in the queue, one read and waiting for room.
        assert listing.read == 4
    assert listing.read < 100


def test_a_caller_leaving_early_stops_and_joins_the_thread():
    listing = Listing(1000)
    with closing(prefetched(listing)) as items:
        for item in items:
            if item == 3:
                break
    assert not reader_threads()
    assert listing.closed  # closed in its own thread, before close() returned
    assert listing.read < 1000


def test_a_caller_failing_part_way_stops_the_thread():
    listing = Listing(1000)
    with pytest.raises(RuntimeError), closing(prefetched(listing)) as items:
        for item in items:
            if item == 2:
                raise RuntimeError("the database refused the batch")
    assert not reader_threads() and listing.closed
