"""Deadlines: one upstream request (its retries included), and one whole sync.

A read timeout only bounds the silence between two bytes: a body trickling a byte a second
never trips it. A `Deadline` bounds the whole: the adapter checks it between attempts and
between pieces of a body, and `reads_until` makes every socket read of this thread give up
when it passes (portal.providers.network caps each read's timeout at what is left).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from portal.providers.errors import DeadlineExceeded, RunDeadlineExceeded

REQUEST = "request"  # one upstream call, its retries included
LISTING = "listing"  # the body of one streamed whole list, outside a sync
SYNC = "sync"  # a whole run

_reads = threading.local()


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock, and what set it (for the message)."""

    at: float
    seconds: float  # how long it allowed
    of: str = REQUEST

    @classmethod
    def after(cls, seconds: float, of: str = REQUEST) -> Deadline:
        return cls(time.monotonic() + seconds, seconds, of)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.remaining() <= 0

    def error(self, provider: str) -> DeadlineExceeded:
        if self.of == SYNC:
            return RunDeadlineExceeded(
                f"the sync took longer than {duration_words(self.seconds)} and was stopped "
                "(SYNC_RUN_DEADLINE_MINUTES); what its finished steps wrote is kept"
            )
        if self.of == LISTING:
            return DeadlineExceeded(
                f"{provider} took longer than {duration_words(self.seconds)} to send its list "
                "(SYNC_RUN_DEADLINE_MINUTES)",
                provider=provider,
            )
        return DeadlineExceeded(
            f"{provider} took longer than {duration_words(self.seconds)} to answer "
            "(UPSTREAM_REQUEST_DEADLINE, retries included)",
            provider=provider,
        )


def duration_words(seconds: float) -> str:
    """15 minutes, 60 seconds, 2.5 seconds."""
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


@contextmanager
def reads_until(deadline: Deadline) -> Iterator[None]:
    """Within the block, this thread's socket reads and writes end at `deadline`."""
    previous = getattr(_reads, "deadline", None)
    _reads.deadline = deadline
    try:
        yield
    finally:
        _reads.deadline = previous


def capped(timeout: float | None) -> float | None:
    """A socket operation's timeout, cut to what is left of this thread's deadline.
    Raises TimeoutError once it has passed."""
    deadline: Deadline | None = getattr(_reads, "deadline", None)
    if deadline is None:
        return timeout
    remaining = deadline.remaining()
    if remaining <= 0:
        raise TimeoutError("the deadline has passed")
    return remaining if timeout is None else min(timeout, remaining)
