"""Asking several provider accounts at once: each call in its own thread, each given its
own time, one account's failure never hiding the others' answers."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections

from portal.providers import adapter_for
from portal.providers.errors import (
    UpstreamError,
)

logger = logging.getLogger(__name__)

# What `adapter_for` takes: a portal.models.ProviderAccount (this layer knows no model).
Account = Any

# ---------------------------------------------------------------------------------------
# Asking several accounts at once
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One account's answer to a call made on all of them: a value, or why there is none."""

    account: Account
    value: Any = None
    error: str = ""  # safe to show staff; the page names the account beside it

    @property
    def ok(self) -> bool:
        return not self.error


def ask_accounts(
    accounts: Sequence[Account],
    call: Callable[[Any], Any],
    *,
    timeout: float | None = None,
    workers: int | None = None,
) -> list[Answer]:
    """`call(adapter)` for every account concurrently, at most `workers` at a time, each
    given `timeout` seconds from the moment its call starts. Returns the answers in the
    accounts' order; an upstream error or a timeout is that account's answer, and the
    others still come.

    A call that runs late is left behind, not awaited: its thread ends on its own (the
    adapter's connect and read timeouts bound it) and what it returns is dropped."""
    timeout = settings.NUMBER_SEARCH_TIMEOUT if timeout is None else timeout
    workers = settings.NUMBER_SEARCH_WORKERS if workers is None else workers
    if not accounts:
        return []
    workers = max(1, min(workers, len(accounts)))
    started: dict[int, float] = {}

    def run(index: int, account: Account):
        started[index] = time.monotonic()
        try:
            with adapter_for(account) as adapter:
                return call(adapter)
        finally:
            # Django opens a connection per thread; a pool thread's must not linger.
            connections.close_all()

    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="upstream-call")
    futures = [executor.submit(run, index, account) for index, account in enumerate(accounts)]
    # A call queued behind slow ones gets its own `timeout` once it starts, but never more
    # than the waves of calls before it could take.
    last_deadline = time.monotonic() + timeout * math.ceil(len(accounts) / workers)
    answers: dict[int, Answer] = {}
    try:
        pending = set(range(len(futures)))
        while pending:
            now = time.monotonic()
            deadlines = {
                index: min(started.get(index, math.inf) + timeout, last_deadline)
                for index in pending
            }
            for index in sorted(pending):
                if futures[index].done():
                    answers[index] = _answer(accounts[index], futures[index])
                elif now >= deadlines[index]:
                    answers[index] = Answer(
                        accounts[index], error=f"No answer within {timeout:g} seconds."
                    )
            pending -= answers.keys()
            if pending:
                wait(
                    [futures[index] for index in pending],
                    timeout=max(0.0, min(deadlines[index] for index in pending) - now),
                    return_when=FIRST_COMPLETED,
                )
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    return [answers[index] for index in range(len(accounts))]


def _answer(account: Account, future: Future) -> Answer:
    try:
        return Answer(account, value=future.result())
    except UpstreamError as exc:
        return Answer(account, error=exc.message)
    except Exception:
        # One adapter's bug must not hide what the other providers answered.
        logger.exception("call to account %s failed unexpectedly", account.pk)
        return Answer(account, error="Unexpected error (logged for the admins).")
