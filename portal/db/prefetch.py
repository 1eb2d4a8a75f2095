"""Reading an upstream's next page while the current one is written.

A sync spends about as long waiting for the provider as writing to the database; reading
ahead in a thread overlaps the two. The thread only fetches and parses (no database), at
most `depth` batches ahead, so memory stays bounded whatever the listing's length.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

from django.db import connections

THREAD_NAME = "sync-prefetch"
# How often a reader blocked on a full queue checks whether it has been told to stop.
_STOP_POLL_SECONDS = 0.05

T = TypeVar("T")


class _Done:
    """The reader reached the end of the listing."""


class _Failed:
    """The reader raised: the caller re-raises the same exception."""

    def __init__(self, error: BaseException):
        self.error = error


def prefetched(batches: Iterable[T], depth: int = 1) -> Iterator[T]:
    """The items of `batches`, each read in a background thread while the caller works on
    the one before. An exception raised while reading is raised here, at the point the
    caller asks for the item that failed, so whatever follows the loop does not run.

    `batches` must not use the database: the thread has no part in the caller's
    transaction. Close the iterator (`contextlib.closing`) to stop the thread early; it
    is joined before `close` returns, and when the listing ends or fails."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    reader = threading.Thread(
        target=_read, args=(batches, handoff, stop), name=THREAD_NAME, daemon=True
    )
    reader.start()
    try:
        while not isinstance(item := handoff.get(), _Done):
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        reader.join()


def _read(batches: Iterable, handoff: queue.Queue, stop: threading.Event) -> None:
    iterator = None
    try:
        iterator = iter(batches)
        for batch in iterator:
            if not _offer(handoff, batch, stop):
                return
        _offer(handoff, _Done(), stop)
    except BaseException as exc:  # handed to the caller, who raises it
        _offer(handoff, _Failed(exc), stop)
    finally:
        # A listing left part way is closed here, in the thread that was running it.
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
        # Should anything in `batches` have opened a connection, it is not left open.
        connections.close_all()


def _offer(handoff: queue.Queue, item, stop: threading.Event) -> bool:
    """Put `item` once there is room; False if the caller stopped listening first."""
    while not stop.is_set():
        try:
            handoff.put(item, timeout=_STOP_POLL_SECONDS)
        except queue.Full:
            continue
        return True
    return False
