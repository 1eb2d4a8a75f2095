"""Audian's call records as the sandbox serves them (audian.md §2.8-C and §2.8-K):

- `GET /v2/accounts/{ACCOUNT_ID}/cdrs?created_from=&created_to=&page_size=&start_key=`:
  the published CDR item (`id`, `call_id`, `caller_id_number`, `callee_id_number`,
  `duration_seconds`, `billing_seconds`, `timestamp` in Unix seconds, `hangup_cause`), paged
  by Kazoo's `start_key`/`next_start_key` (§5.7: `page_size` default 25, max 100);
- `GET /v2/accounts/{ACCOUNT_ID}/ledgers/per-minute-voip?created_from=&created_to=`: one
  entry per priced call, `source{service, id}` naming the call's `call_id`, paged the same way.

`created_from`/`created_to` are Unix seconds as the Audian page says, Gregorian seconds
(Kazoo's `cdrs.md`) accepted too; both ends are included, as in Kazoo. [INFERRED]: a CDR's
`id` is Kazoo's document id, the month and the call id (`202401-<call_id>`); ledger amounts
are negative dollars for a debit (Kazoo's totals are negative, e.g. `-825`; §4 gives
dollars for every Audian amount); an entry is dated by the call's start (`period.start`),
which is what the ledger's time filter applies to. A withheld call (the state's
`withhold_call_prices`) has its CDR but no ledger entry yet.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from portal.providers.parsing import GREGORIAN_TO_UNIX
from portal.providers.sandbox.http import Request, Response, page_slice

CDR_PAGE = (25, 100)  # §5.7: (default, maximum) page_size


class AudianCallRecords:
    """Mixed into AudianSandbox (it has `state`, `_kazoo_account`, `_kazoo_ok`, `amount`)."""

    def cdrs(self, request: Request, account_id: str) -> Response:
        account = self._kazoo_account(request, account_id)
        return self._call_page(request, account, priced_only=False, render=_cdr)

    def per_minute_ledger(self, request: Request, account_id: str) -> Response:
        account = self._kazoo_account(request, account_id)

        def render(call: dict) -> dict:
            return _ledger_entry(call, account, self.amount(call["cost"]))

        return self._call_page(request, account, priced_only=True, render=render)

    def _call_page(self, request: Request, account: dict, *, priced_only: bool, render):
        default, maximum = CDR_PAGE
        size = min(request.int_arg("page_size", default), maximum)
        if size < 1:
            raise ValueError("page_size must be positive")
        since, until = _moment(request, "created_from"), _moment(request, "created_to", 1)
        start_key = request.arg("start_key") or ""
        from_key = _parse_key(start_key) if start_key else None
        # Read on until a page is full of what this listing shows (a ledger leaves out the
        # withheld calls), one call past it naming the next page's start key.
        shown, position, next_key = [], 0, None
        while True:
            calls, _ = self.state.calls_page(
                account,
                since=since,
                until=until,
                from_key=from_key,
                offset=position,
                limit=size + 1,
            )
            for call in calls:
                if len(shown) == size:
                    next_key = f"{call['start']}-{call['id']}"
                    break
                if call["priced"] or not priced_only:
                    shown.append(call)
            position += len(calls)
            if next_key or len(calls) <= size:
                break
        page = page_slice(shown, short_page=request.short_page)
        if len(page) < len(shown):  # after a short page, the cursor resumes where it stopped
            next_key = f"{shown[len(page)]['start']}-{shown[len(page)]['id']}"
        envelope = {"page_size": len(page)}
        if start_key:
            envelope["start_key"] = start_key
        if next_key:
            envelope["next_start_key"] = next_key
        return self._kazoo_ok(account, [render(call) for call in page], **envelope)


def _moment(request: Request, name: str, after: int = 0) -> datetime | None:
    value = request.int_arg(name, 0)
    if not value:
        return None
    if value > GREGORIAN_TO_UNIX:  # Kazoo's Gregorian seconds
        value -= GREGORIAN_TO_UNIX
    return datetime.fromtimestamp(value + after, UTC)  # `after`: the end is included


def _parse_key(key: str) -> tuple[int, str]:
    start, _, call_id = key.partition("-")
    if not start.isdigit() or not call_id:
        raise ValueError("start_key is not one this listing gave")
    return int(start), call_id


def _cdr(call: dict) -> dict:
    """audian.md §2.8-C's published item."""
    inbound = call["direction"] == "inbound"
    return {
        "id": f"{call['started_at']:%Y%m}-{call['id']}",
        "call_id": call["id"],
        "caller_id_number": call["other"] if inbound else call["e164"],
        "callee_id_number": call["e164"] if inbound else call["other"],
        "duration_seconds": call["duration"],
        "billing_seconds": call["billed"],
        "timestamp": call["start"],
        "hangup_cause": "NORMAL_CLEARING",
    }


def _ledger_entry(call: dict, account: dict, cost) -> dict:
    """audian.md §2.8-K's ledger entry for one call, `cost` as Audian writes amounts."""
    digest = hashlib.sha1(f"ledger:{call['id']}".encode(), usedforsecurity=False)
    return {
        "id": digest.hexdigest()[:32],
        "source": {"service": "per-minute-voip", "id": call["id"]},
        "account": {"id": account["account_id"], "name": account["name"]},
        "usage": {"type": "voice", "quantity": call["billed"], "unit": "sec"},
        "amount": -cost,
        "description": f"{call['direction'].capitalize()} call",
        "period": {"start": call["start"], "end": call["start"] + call["duration"]},
    }
