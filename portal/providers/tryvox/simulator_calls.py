"""TryVox's call records as the sandbox serves them (tryvox.md §2.8, [DOCS voice/list-calls,
voice/get-call]):

- `GET /v1/voice/accounts/{auth_id}/calls`: newest first, `page` (1), `per_page` (20, max
  100), filters `status`, `direction`, `from`, `to`, no time filter; `{"calls": [...],
  "pagination": {page, per_page, total_pages, total_count}}`; no price in the items;
- `GET /v1/voice/accounts/{auth_id}/calls/{call_uuid}`: the item plus `billed_duration`,
  `ring_time`, `price` (a 4-decimal string, null until priced: the state's
  `withhold_call_prices`), `price_unit` ("USD"), recording URL and machine detection.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from portal.providers.sandbox.http import Request, Response, page_slice
from portal.providers.sandbox.simulated import Reject

PRICE_PLACES = Decimal("0.0001")
RING_SECONDS = 4


class TryVoxCallRecords:
    """Mixed into TryVoxSandbox (it has `state`, `_account`, `_paging`, `error_response`)."""

    def list_calls(self, request: Request, auth_id: str) -> Response:
        account = self._account(request, auth_id)
        page, per_page = self._paging(request)
        offset = (page - 1) * per_page
        wanted = {key: request.arg(key) for key in ("status", "direction", "from", "to")}
        if any(wanted.values()):  # filters the index does not hold: the whole list is read
            items = [
                item
                for item in map(_item, self.state.calls_page(account, newest_first=True)[0])
                if all(not value or item[key] == value for key, value in wanted.items())
            ]
            total, items = len(items), items[offset : offset + per_page]
        else:
            calls, total = self.state.calls_page(
                account, offset=offset, limit=per_page, newest_first=True
            )
            items = [_item(call) for call in calls]
        body = {
            "calls": page_slice(items, short_page=request.short_page),
            "pagination": {
                "page": page,
                "per_page": per_page,
                "total_pages": math.ceil(total / per_page),
                "total_count": total,
            },
        }
        return Response(200, body)

    def get_call(self, request: Request, auth_id: str, call_uuid: str) -> Response:
        account = self._account(request, auth_id)
        call = self.state.call(account, call_uuid)
        if call is None:
            raise Reject(self.error_response(404, "NOT_FOUND", f"call {call_uuid} not found"))
        price = Decimal(call["cost"]).quantize(PRICE_PLACES) if call["priced"] else None
        detail = _item(call) | {
            "billed_duration": call["billed"],
            "ring_time": RING_SECONDS,
            "price": None if price is None else str(price),
            "price_unit": account["currency"],
            "recording_url": None,
            "machine_detection_result": None,
        }
        return Response(200, detail)


def _item(call: dict) -> dict:
    inbound = call["direction"] == "inbound"
    started = call["started_at"]
    return {
        "call_uuid": call["id"],
        "from": call["other"] if inbound else call["e164"],
        "to": call["e164"] if inbound else call["other"],
        "direction": call["direction"],
        "status": "completed",
        "duration": call["duration"],
        "start_time": _iso(started),
        "answer_time": _iso(started + timedelta(seconds=RING_SECONDS)),
        "end_time": _iso(started + timedelta(seconds=RING_SECONDS + call["duration"])),
        "end_reason": "hangup",
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
