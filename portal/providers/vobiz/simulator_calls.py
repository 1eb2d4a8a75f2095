"""Vobiz's call records as the sandbox serves them: `GET /api/v1/Account/{auth_id}/cdr`
(vobiz.md §2.8, "CDR billing" [SDK]), paged by `page`/`per_page` (max 100) with the
`pagination{page, per_page, total, pages, has_next, has_prev}` block, filtered by
`start_date`/`end_date` (YYYY-MM-DD, whole days, both included).

Items carry the fields of the SDK's `ListCdrsResponseDataItem` that the portal reads, money
as JSON numbers in the account's currency (§4). Each call is also the ledger's `cdr` row
whose `reference` is "cdr_<uuid>" (§2.8's "cdr_e565c2de-…"), so a call's `uuid` names it
in both. [INFERRED] choices: a third of the calls carry a `streaming_cost` part (the ledger
example's "Stream session"); the whole-window `summary` is not served (it would cost a scan
of the window on every page, and nothing documented depends on it).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from portal.providers.sandbox.http import Request, Response, page_slice

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100


class VobizCallRecords:
    """Mixed into VobizSandbox (it has `state`, `caller` and `amount`)."""

    def cdr(self, request: Request, auth_id: str) -> Response:
        account = self.caller(request, auth_id)
        page = request.int_arg("page", 1)
        per_page = min(request.int_arg("per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
        if page < 1 or per_page < 1:
            raise ValueError("page and per_page must be at least 1")
        since = _day(request.arg("start_date"))
        end = _day(request.arg("end_date"))
        calls, total = self.state.calls_page(
            account,
            since=since,
            until=end + timedelta(days=1) if end else None,
            offset=(page - 1) * per_page,
            limit=per_page,
            newest_first=True,
        )
        items = [self.render_cdr(call, account) for call in calls]
        pages = math.ceil(total / per_page)
        return Response(
            200,
            {
                "success": True,
                "account_id": auth_id,
                "count": total,
                "data": page_slice(items, short_page=request.short_page),
                "pagination": {
                    "page": page,
                    "per_page": per_page,
                    "total": total,
                    "pages": pages,
                    "has_next": page < pages,
                    "has_prev": page > 1,
                },
            },
        )

    def render_cdr(self, call: dict, account: dict) -> dict:
        total = Decimal(call["cost"])
        # A third of the calls were streamed: part of their cost is the stream's.
        streaming = (total / 3).quantize(Decimal("0.0001")) if call["id"][0] in "05a" else 0
        inbound = call["direction"] == "inbound"
        started = call["started_at"]
        ended = started + timedelta(seconds=call["duration"])
        return {
            "id": int(call["id"][:8], 16),
            "uuid": call["id"],
            "account_id": account["account_id"],
            "call_direction": call["direction"],
            "caller_id_name": "",
            "caller_id_number": call["other"] if inbound else call["e164"],
            "destination_number": call["e164"] if inbound else call["other"],
            "context": "public" if inbound else "default",
            "duration": call["duration"],
            "billsec": call["billed"],
            "ring_time": 3,
            "start_time": _iso(started),
            "answer_time": _iso(started + timedelta(seconds=3)),
            "end_time": _iso(ended),
            "hangup_cause": "NORMAL_CLEARING",
            "cost": self.amount(total - streaming),
            "streaming_cost": self.amount(streaming),
            "total_cost": self.amount(total),
            "currency": account["currency"],
            "region": "IN",
            "origination_region": "IN",
            "sip_call_id": f"{call['id']}@sandbox.vobiz",
            "created_at": _iso(ended),
            "updated_at": _iso(ended),
        }


def _day(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
