"""One guard for every paging loop: a listing that would never end is stopped.

A provider can answer a listing without end: the same page whatever page or offset is
asked, a total that keeps promising more, a cursor that comes back (A → B → A), or new rows
for ever. Every loop that pages through a list, or reads one streamed list, counts its
pages and rows through a `PageGuard`, which stops it

- at a page read before: a cursor already followed, or the same rows again (a hash of the
  page's row keys: ids and numbers, else the whole row);
- past the row ceiling of its kind of list (settings.UPSTREAM_LIST_LIMITS), set above the
  largest real account (a million numbers, tens of millions of ledger entries).

Either way it raises EndlessListing, "<provider> kept sending pages (N requests)", before
the caller could take what it read for the whole list: a sync then releases nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.conf import settings

from portal.providers.errors import EndlessListing

# The fields that identify a row, in the order they are looked for.
_ROW_IDS = ("id", "e164", "number", "phone_number", "phoneNumber")
# Where each kind's ceiling is set, for the message.
CEILING_SETTINGS = {
    "numbers": "UPSTREAM_MAX_NUMBERS",
    "inventory": "UPSTREAM_MAX_INVENTORY",
    "transactions": "UPSTREAM_MAX_TRANSACTIONS",
    "plans": "UPSTREAM_MAX_PLANS",
    "calls": "UPSTREAM_MAX_CALLS",
}


def row_key(row: Any) -> object:
    """What identifies a row: its id and number where it has them, else all of it."""
    if isinstance(row, Mapping):
        key = tuple(row.get(name) for name in _ROW_IDS)
        if any(_identifies(value) for value in key):
            return key
    return row


def _identifies(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and value != ""


class PageGuard:
    """The pages of one listing of `kind` ("numbers", "inventory", "transactions",
    "plans"), read through `page` (and `follow` for a cursor), one request each."""

    def __init__(self, provider: str, kind: str):
        self.provider = provider
        self.kind = kind
        self.max_rows: int = settings.UPSTREAM_LIST_LIMITS[kind]["rows"]
        self.requests = 0
        self.rows = 0
        self._pages: set[int] = set()  # 8-byte fingerprints: a few MB for 500,000 pages
        self._cursors: set[str] = set()

    def page(self, rows: Iterable, *, key: Callable[[Any], object] = row_key):
        """The rows of the page just requested, counted: a list is judged before any of
        its rows is used; a stream (a generator) row by row, and as a page once it has
        ended. Returns what the stream returns (`envelope = yield from guard.page(...)`)."""
        self.requests += 1
        digest = hashlib.blake2b(digest_size=8)
        if isinstance(rows, Sequence):
            self._count(len(rows))
            for row in rows:
                digest.update(_keyed(key(row)))
            self._judge(digest, bool(rows))
            yield from rows
            return None
        iterator: Iterator = iter(rows)
        empty = True
        while True:
            try:
                row = next(iterator)
            except StopIteration as end:
                self._judge(digest, not empty)
                return end.value
            empty = False
            self._count(1)
            digest.update(_keyed(key(row)))
            yield row

    def follow(self, cursor: object) -> None:
        """About to ask for the page `cursor` names: refused if it was asked for before."""
        name = repr(cursor)
        if name in self._cursors:
            raise self._endless("the next-page cursor pointed back to a page already read")
        self._cursors.add(name)

    def _count(self, rows: int) -> None:
        self.rows += rows
        if self.rows > self.max_rows:
            raise self._endless(
                f"more than {self.max_rows:,} {self.kind}, the most the portal reads in one "
                f"listing ({CEILING_SETTINGS.get(self.kind, 'UPSTREAM_LIST_LIMITS')})"
            )

    def _judge(self, digest, has_rows: bool) -> None:
        if not has_rows:  # an empty page ends a listing; it is never "more"
            return
        fingerprint = int.from_bytes(digest.digest())
        if fingerprint in self._pages:
            raise self._endless("a page came again that was already read")
        self._pages.add(fingerprint)

    def _endless(self, why: str) -> EndlessListing:
        requests = f"{self.requests} request{'s' if self.requests != 1 else ''}"
        return EndlessListing(
            f"{self.provider} kept sending pages ({requests}): {why}; nothing of this "
            "listing was taken as complete",
            provider=self.provider,
        )


def _keyed(value: object) -> bytes:
    return repr(value).encode("utf-8", "backslashreplace") + b"\0"
