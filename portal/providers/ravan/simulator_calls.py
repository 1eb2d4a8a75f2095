"""Ravan's call records from the sandbox state's calls (`SandboxState.calls_page`), for an
account that holds some (a world generated with `calls=N`, or `add_calls`):

- `GET /api/v1/calling/call-sessions` in ravan.md §2.8's shape (a): snake_case items in
  `data` with `meta{total, limit, offset}`, paged by `page`/`page_size`, filtered by
  `started_after`/`started_before` (ISO 8601, the first included, the second not), sorted
  by `started_at` (`sort_order` `desc`, the default, or `asc`); sessions of channel `web`
  have no phone numbers (null);
- `GET /api/v1/calling/phone-history?phone=` per number, `cost_total` a string and the
  parts `twilio_cost`, `model_cost` and `credit_breakdown`, which need not add up (§2.8's
  example does not).

[INFERRED]: each session also carries shape (b)'s `credit_breakdown` (in snake_case); a
call's cost is its provider minutes plus the $0.07 agent minute (§2.7); `telephony_base_credits`
is a base rate of $0.004 a minute, a part that is not added into `cost_total`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from portal.providers.sandbox.calls import RAVAN_AGENT_PER_MINUTE
from portal.providers.sandbox.http import Request

TELEPHONY_BASE_PER_MINUTE = Decimal("0.004")
QUANTUM = Decimal("0.0001")
SORT_ORDERS = ("desc", "asc")


def sessions_page(state, account: dict, request: Request, page: int, page_size: int):
    """(items, total) of one page of call-sessions from the state's calls."""
    order = (request.arg("sort_order") or "desc").lower()
    if order not in SORT_ORDERS:
        raise ValueError("sort_order must be asc or desc")
    if (request.arg("sort_by") or "started_at") != "started_at":
        raise ValueError("the sandbox sorts call sessions by started_at only")
    window = {
        "since": _moment(request.arg("started_after")),
        "until": _moment(request.arg("started_before")),
        "newest_first": order == "desc",
    }
    offset = (page - 1) * page_size
    channel, status = request.arg("channel"), request.arg("status")
    caller = request.arg("caller_number")
    if not (channel or status or caller):
        calls, total = state.calls_page(account, offset=offset, limit=page_size, **window)
        return [session(call, account) for call in calls], total
    # A filter on what the index does not hold: read the window whole (tests and demos).
    calls = [
        call
        for call in state.calls_page(account, **window)[0]
        if (not channel or _channel(call) == channel)
        and (not status or status == "completed")
        and (not caller or _parties(call)[0] == caller)
    ]
    window_page = calls[offset : offset + page_size]
    return [session(call, account) for call in window_page], len(calls)


def session(call: dict, account: dict) -> dict:
    caller, callee = _parties(call)
    provider, model = _credits(call)
    return {
        "id": call["id"],
        "organization_id": account["account_id"],
        "caller_number": caller,
        "callee_number": callee,
        "channel": _channel(call),
        "status": "completed",
        "duration_sec": call["duration"],
        "recording_url": None,
        "cost_total": Decimal(call["cost"]).normalize(),
        "credit_breakdown": {
            "duration_sec": call["duration"],
            "model_credits": model,
            "provider_credits": provider,
            "provider_managed": True,
            "telephony_type": "managed" if call["e164"] else "web",
            "total_credits": Decimal(call["cost"]).normalize(),
        },
        "started_at": _iso(call["started_at"]),
        "ended_at": _iso(call["started_at"] + timedelta(seconds=call["duration"])),
    }


def history_call(call: dict) -> dict:
    caller, callee = _parties(call)
    provider, model = _credits(call)
    base = (TELEPHONY_BASE_PER_MINUTE * call["billed"] / 60).quantize(QUANTUM).normalize()
    return {
        "id": call["id"],
        "caller_number": caller,
        "callee_number": callee,
        "status": "completed",
        "duration_sec": call["duration"],
        "cost_total": str(Decimal(call["cost"]).normalize()),  # a string here (§2.8)
        "twilio_cost": provider,
        "model_cost": model,
        "credit_breakdown": {
            "model_credits": model,
            "provider_credits": provider,
            "telephony_base_credits": base,
        },
        "started_at": _iso(call["started_at"]),
        "ended_at": _iso(call["started_at"] + timedelta(seconds=call["duration"])),
    }


def _credits(call: dict) -> tuple[Decimal, Decimal]:
    model = (RAVAN_AGENT_PER_MINUTE * call["billed"] / 60).quantize(QUANTUM)
    return (Decimal(call["cost"]) - model).normalize(), model.normalize()


def _parties(call: dict) -> tuple[str | None, str | None]:
    if not call["e164"]:
        return None, None
    if call["direction"] == "inbound":
        return call["other"], call["e164"]
    return call["e164"], call["other"]


def _channel(call: dict) -> str:
    return "voice" if call["e164"] else "web"


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.strip().replace(" ", "+"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
