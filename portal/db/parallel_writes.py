"""Writing a sync's batches on more than one database connection at once.

A batch of transactions costs PostgreSQL more than it costs this process to read: on one
connection the database works on one core while the other waits for the next batch. Two
connections let it work on two batches at once. Only writes whose order does not matter
belong here (appending rows keyed by their own ids), and only outside a transaction: each
writer commits on its own connection, which sees nothing the caller has not committed.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import connection, connections

THREAD_NAME = "sync-writer"

logger = logging.getLogger("portal.services.sync")

B = TypeVar("B")


class _Stop:
    """No more batches: the writer closes its connection and ends."""


class ParallelWriter(Generic[B]):
    """`write(batch)` (which returns a count) for each batch `submit`ted, on `threads`
    threads with a connection each, at most `threads` batches waiting; `done` sums the
    counts of the writes finished so far. The first error a write raises is raised by the
    next `submit`, or on leaving the `with` block, which waits for every write begun."""

    def __init__(self, write: Callable[[B], int], threads: int = 2):
        self._write = write
        self._batches: queue.Queue = queue.Queue(maxsize=threads)
        self._lock = threading.Lock()
        self._done = 0
        self._error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
            for _ in range(threads)
        ]

    @property
    def done(self) -> int:
        with self._lock:
            return self._done

    def __enter__(self) -> ParallelWriter[B]:
        for thread in self._threads:
            thread.start()
        return self

    def submit(self, batch: B) -> None:
        self._raise_any()
        self._batches.put(batch)

    def __exit__(self, *exc_info) -> None:
        for _ in self._threads:
            self._batches.put(_Stop())
        for thread in self._threads:
            thread.join()
        if exc_info[0] is None:
            self._raise_any()
        elif self._error is not None:
            # The caller's error is the one raised; this one is not lost either.
            logger.error("a batch write failed too", exc_info=self._error)

    def _raise_any(self) -> None:
        with self._lock:
            error = self._error
        if error is not None:
            raise error

    def _run(self) -> None:
        try:
            while not isinstance(batch := self._batches.get(), _Stop):
                with self._lock:
                    failed = self._error is not None
                if failed:
                    continue  # drained, not written: the step is failing anyway
                try:
                    count = self._write(batch)
                except BaseException as exc:  # handed to the caller, who raises it
                    with self._lock:
                        self._error = self._error or exc
                    continue
                with self._lock:
                    self._done += count
        finally:
            connections.close_all()  # this thread's own connection


class SerialWriter(Generic[B]):
    """ParallelWriter's interface, writing each batch as it is submitted, on the caller's
    connection and in its transaction."""

    def __init__(self, write: Callable[[B], int]):
        self._write = write
        self.done = 0

    def __enter__(self) -> SerialWriter[B]:
        return self

    def submit(self, batch: B) -> None:
        self.done += self._write(batch)

    def __exit__(self, *exc_info) -> None:
        pass


def batch_writer(write: Callable[[B], int]) -> ParallelWriter[B] | SerialWriter[B]:
    """A ParallelWriter where it can work: on PostgreSQL (SQLite writes one transaction at
    a time whatever the connections) with no transaction open around the caller; else a
    SerialWriter."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return ParallelWriter(write)
    return SerialWriter(write)
