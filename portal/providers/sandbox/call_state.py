"""The call records part of `SandboxState` (see `sandbox.calls`): kept sorted by when they
started, read by index through a cached list of (start, id) keys, so a page of a window of
200,000 calls costs a bisect and the page, never a scan.

Test and demo controls: `withhold_call_prices` leaves the newest calls unpriced as a
provider that prices late does (audian.md §2.8-C: a CDR before its ledger entry; tryvox.md
§2.8: a call detail without `price`) until `post_call_prices`; `add_calls` adds calls later,
for an incremental sync.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
from datetime import UTC, datetime
from decimal import Decimal

from portal.providers.sandbox import calls
from portal.providers.sandbox.world import money


class CallRecords:
    """Mixed into SandboxState: it holds `data`, `lock`, `_views`, `save` and `_post`."""

    # --- generation ---------------------------------------------------------------------

    def _seed_calls(self, account, owned: list[dict], count: int, anchor: datetime):
        """Seed `count` calls for a new account; for a provider whose ledger bills calls,
        return their ledger charges (they replace the generic usage lines), else None."""
        rng = random.Random(f"{self.data['seed']}:{account.key}:calls")
        start, end = calls.history_span(anchor)
        rows = calls.generate(rng, account.provider, owned, count, start, end)
        self.data["calls"][account.key] = rows
        if account.provider not in calls.LEDGER_PROVIDERS:
            return None
        return [calls.charge(row) for row in rows]

    # --- reads --------------------------------------------------------------------------

    def has_calls(self, account: dict) -> bool:
        """Whether the account's calls come from the state (seeded or added)."""
        return _key(account) in self.data["calls"]

    def calls_page(
        self,
        account: dict,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int | None = None,
        newest_first: bool = False,
        from_key: tuple[int, str] | None = None,
    ) -> tuple[list[dict], int]:
        """One page of the calls started in [since, until) (each end open when None),
        oldest first (or newest first), as dicts (`calls.FIELDS`, `started_at`, `priced`),
        and how many the window holds. `from_key`, a call's (start, id), starts the window
        at that call (a cursor)."""
        key = _key(account)
        with self.lock:
            rows, keys = self.data["calls"].get(key, []), self._call_keys(key)
            lo = bisect.bisect_left(keys, (_ceil(since), "")) if since else 0
            hi = bisect.bisect_left(keys, (_ceil(until), "")) if until else len(keys)
            if from_key is not None:
                lo = max(lo, bisect.bisect_left(keys, tuple(from_key)))
            hi = max(lo, hi)
            stop = hi - lo if limit is None else min(hi - lo, offset + limit)
            if newest_first:
                indexes = range(hi - 1 - offset, hi - 1 - stop, -1)
            else:
                indexes = range(lo + offset, lo + stop)
            unpriced = set(self.data["unpriced_calls"].get(key, ()))
            return [self._call(rows[index], unpriced) for index in indexes], hi - lo

    def call_key_at(self, account: dict, since: datetime | None, position: int):
        """The (start, id) of the call `position` places into the window starting at
        `since`, or None past its end: a cursor to the next page."""
        keys = self._call_keys(_key(account))
        lo = bisect.bisect_left(keys, (_ceil(since), "")) if since else 0
        return keys[lo + position] if lo + position < len(keys) else None

    def calls_of_number(
        self, account: dict, e164: str, offset: int = 0, limit: int | None = None
    ) -> tuple[list[dict], int]:
        """One page of the calls on number `e164`, newest first, and how many there are."""
        key = _key(account)
        with self.lock:
            view = ("calls-of", key, e164)
            indexes = self._views.get(view)
            if indexes is None:
                rows = self.data["calls"].get(key, [])
                indexes = [i for i in range(len(rows) - 1, -1, -1) if rows[i][2] == e164]
                self._views[view] = indexes
            window = indexes[offset:] if limit is None else indexes[offset : offset + limit]
            unpriced = set(self.data["unpriced_calls"].get(key, ()))
            rows = self.data["calls"][key] if indexes else []
            return [self._call(rows[i], unpriced) for i in window], len(indexes)

    def call(self, account: dict, call_id: str) -> dict | None:
        key = _key(account)
        with self.lock:
            view = ("call-ids", key)
            index = self._views.get(view)
            if index is None:
                rows = self.data["calls"].get(key, [])
                index = self._views[view] = {row[0]: i for i, row in enumerate(rows)}
            if call_id not in index:
                return None
            unpriced = set(self.data["unpriced_calls"].get(key, ()))
            return self._call(self.data["calls"][key][index[call_id]], unpriced)

    def _call_keys(self, key: str) -> list[tuple[int, str]]:
        keys = self._views.get(("calls", key))
        if keys is None:
            keys = [(row[1], row[0]) for row in self.data["calls"].get(key, [])]
            self._views[("calls", key)] = keys
        return keys

    @staticmethod
    def _call(row: list, unpriced: set[str]) -> dict:
        call = calls.as_dict(row)
        call["priced"] = call["id"] not in unpriced
        return call

    # --- test and demo controls ---------------------------------------------------------

    def withhold_call_prices(self, account: dict, count: int) -> list[str]:
        """The newest `count` calls become unpriced (their ledger rows, where the provider
        bills calls in its ledger, taken back with the balance) until `post_call_prices`.
        Returns their ids."""
        if account["provider"] not in calls.LATE_PRICE_PROVIDERS:
            raise ValueError(f"{account['provider']} lists every call with its price")
        key = _key(account)
        with self.lock:
            rows = self.data["calls"].get(key, [])
            unpriced = self.data["unpriced_calls"].setdefault(key, [])
            already = set(unpriced)
            newest = rows[len(rows) - count :] if count > 0 else []
            withheld = [row[0] for row in newest if row[0] not in already]
            unpriced.extend(withheld)
            if account["provider"] in calls.LEDGER_PROVIDERS:
                self._take_back(key, set(withheld))
            self.save()
            return withheld

    def post_call_prices(self, account: dict) -> list[str]:
        """Every withheld call is priced now (billed to the ledger now where the provider
        bills calls there). Returns their ids."""
        key = _key(account)
        with self.lock:
            withheld = self.data["unpriced_calls"].pop(key, [])
            if account["provider"] in calls.LEDGER_PROVIDERS:
                wanted = set(withheld)
                for row in self.data["calls"].get(key, []):
                    if row[0] in wanted:
                        self._bill_call(key, row, datetime.now(UTC))
            self.save()
            return withheld

    def add_calls(
        self,
        account: dict,
        count: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict]:
        """`count` new calls between `start` (default: just after the newest call, or the
        anchor) and `end` (default: now) on the numbers the account holds, billed to the
        ledger at their start where the provider bills calls there. Returns them."""
        key = _key(account)
        with self.lock:
            rows = self.data["calls"].setdefault(key, [])
            if start is None:
                start = self.anchor
                if rows and rows[-1][1] + 1 > calls.unix(start):
                    start = datetime.fromtimestamp(rows[-1][1] + 1, UTC)
            end = end or datetime.now(UTC)
            rng = random.Random(f"{self.data['seed']}:{key}:calls:{len(rows)}")
            owned = self.owned_numbers(account)
            new = calls.generate(rng, account["provider"], owned, count, start, end)
            for row in new:
                bisect.insort(rows, row, key=lambda stored: (stored[1], stored[0]))
                if account["provider"] in calls.LEDGER_PROVIDERS:
                    self._bill_call(key, row, None)
            self.save()
            return [self._call(row, set()) for row in new]

    def _bill_call(self, key: str, row: list, when: datetime | None) -> None:
        """Post the ledger row that bills the call `row`, dated `when` (a price posted late)
        or, when None, at the call's start."""
        charge = calls.charge(row)
        self._post(
            key,
            "usage",
            charge.amount,
            charge.description,
            charge.e164,
            when or charge.when.replace(tzinfo=UTC),
            call_id=charge.call_id,
        )

    def _take_back(self, key: str, call_ids: set[str]) -> None:
        ledger = self.data["transactions"][key]
        kept, refund = [], Decimal(0)
        for row in ledger:
            if row.get("call_id") in call_ids:
                refund += Decimal(row["amount"])
            else:
                kept.append(row)
        taken_back = self.data.setdefault("taken_back", {})
        taken_back[key] = taken_back.get(key, 0) + len(ledger) - len(kept)
        ledger[:] = kept
        record = self.data["accounts"][key]
        record["balance"] = money(Decimal(record["balance"]) + refund)


def call_row_id(key: str, call_id: str) -> str:
    """A ledger row id for the row billing a call: from the call, so a row taken back and
    posted again keeps its id and never takes another row's."""
    digest = hashlib.sha1(f"{key}:call:{call_id}".encode(), usedforsecurity=False)
    return f"txn_{digest.hexdigest()[:16]}"


def _key(account: dict) -> str:
    return f"{account['provider']}:{account['account_id']}"


def _ceil(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return math.ceil(moment.timestamp())
