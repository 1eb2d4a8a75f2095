"""Each adapter's call records read from the literal examples the provider notes publish
(shared/providers/*.md), served over real HTTP on loopback: the number, duration and cost
must come out exact, in the right currency. Each account has a real-looking id of its own,
never an example's placeholder."""

# ruff: noqa: E501

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from portal.providers import adapter_class, errors
from portal.providers.base import AccountConfig
from tests.support.canned import CannedServer

# audian.md §2.8-C, the published CDR list.
AUDIAN_CDRS = """{"auth_token": "{AUTH_TOKEN}", "data": [{"id": "cdr_abc123", "call_id": "call_xyz789",
 "caller_id_number": "+15551234567", "callee_id_number": "+15559876543", "duration_seconds": 120,
 "billing_seconds": 120, "timestamp": 1704067200, "hangup_cause": "NORMAL_CLEARING"}],
 "request_id": "{REQUEST_ID}", "status": "success"}"""
# audian.md §2.8-K's ledger entry shape naming that call (Audian prints no example entry),
# the amount in dollars as every Audian amount is (§4).
AUDIAN_LEDGER = """{"auth_token": "{AUTH_TOKEN}", "page_size": 1, "data": [{"id": "9f1c2e", "source": {"service": "per-minute-voip", "id": "call_xyz789"},
 "account": {"id": "4f0c2a7e9b1d43c8a6e5f7b2d9c1e3a8", "name": "Reseller"}, "usage": {"type": "voice", "quantity": 120, "unit": "sec"},
 "amount": -0.0240, "description": "per-minute call", "period": {"start": 1704067200, "end": 1704067320}}],
 "request_id": "{REQUEST_ID}", "status": "success"}"""

# vobiz.md §2.8 "CDR billing" [SDK]: the envelope and pagination as published, the item with
# the published money fields (numbers) and the SDK item's other fields.
VOBIZ_CDR = """{"success": true, "account_id": "MA_XXXXXXXX", "count": 1,
 "data": [{"id": 48213, "uuid": "e565c2de-4f1a-4c55-9a51-3d1f0e2b7a90", "account_id": "MA_XXXXXXXX", "call_direction": "outbound",
   "caller_id_name": "", "caller_id_number": "+918026646412", "destination_number": "+919876543210", "context": "default",
   "duration": 70, "billsec": 70, "ring_time": 3, "start_time": "2025-12-08T09:36:56.123456Z", "answer_time": "2025-12-08T09:36:59Z",
   "end_time": "2025-12-08T09:38:06.923988Z", "hangup_cause": "NORMAL_CLEARING", "cost": 0.55, "streaming_cost": 0.35,
   "total_cost": 0.9, "currency": "INR", "region": "IN", "origination_region": "IN", "sip_call_id": "abc@vobiz",
   "created_at": "2025-12-08T09:38:06.923988Z", "updated_at": "2025-12-08T09:38:06.923988Z"}],
 "pagination": {"page": 1, "per_page": 100, "total": 1, "pages": 1, "has_next": false, "has_prev": false},
 "summary": {"totalCalls": 1, "answeredCalls": 1, "answerRate": 100, "avgCallDuration": 70, "total_billable_seconds": 70,
   "total_cost": 0.9, "total_duration_seconds": 70, "last_call_at": "2025-12-08T09:36:56.123456Z"}}"""

# ravan.md §2.8, shape (a): snake_case in `data`, `cost_total` a number, `meta`.
RAVAN_SESSIONS_A = """{"success": true, "message": "Call sessions fetched successfully", "data": [
 {"id": "0b7f1c1e-3c51-4f8e-9d0a-5c2b1e7d9a11", "organization_id": "019a3f5e-0000-7000-8000-000000000001", "caller_number": "+13612738809",
  "callee_number": "+15125550111", "channel": "voice", "status": "completed", "duration_sec": 250, "recording_url": null,
  "cost_total": 0.2917, "started_at": "2026-03-01T10:00:00Z", "ended_at": "2026-03-01T10:04:10Z"},
 {"id": "0b7f1c1e-3c51-4f8e-9d0a-5c2b1e7d9a12", "organization_id": "019a3f5e-0000-7000-8000-000000000001", "caller_number": null,
  "callee_number": null, "channel": "web", "status": "completed", "duration_sec": 60, "recording_url": null,
  "cost_total": 0.07, "started_at": "2026-03-01T11:00:00Z", "ended_at": "2026-03-01T11:01:00Z"}],
 "meta": {"total": 2, "limit": 100, "offset": 0}}"""
# ravan.md §2.8, shape (b): camelCase in `data.callSessions`, `costTotal` a string.
RAVAN_SESSIONS_B = """{"success": true, "message": "ok", "data": {"callSessions": [
 {"id": "0b7f1c1e-3c51-4f8e-9d0a-5c2b1e7d9a13", "callerNumber": "+15125550111", "calleeNumber": "+13612738809", "channel": "voice",
  "status": "completed", "durationSec": 250, "costTotal": "12.50", "startedAt": "2026-03-02T10:00:00Z",
  "creditBreakdown": {"duration_sec": 250, "model_credits": 4.2, "provider_credits": 5.1, "provider_managed": true,
   "telephony_type": "managed", "total_credits": 12.5}}], "total": 1}}"""
# ravan.md §2.8 phone-history: `cost_total` a string, parts that do not add up.
RAVAN_HISTORY = """{"success": true, "message": "ok", "phone": "+13612738809", "total_count": 1, "page": 1, "page_size": 100,
 "calls": [{"id": "0b7f1c1e-3c51-4f8e-9d0a-5c2b1e7d9a14", "caller_number": "+15125550111", "callee_number": "+13612738809",
  "status": "completed", "duration_sec": 250, "cost_total": "12.50", "twilio_cost": 5.1, "model_cost": 4.2,
  "credit_breakdown": {"model_credits": 4.2, "provider_credits": 5.1, "telephony_base_credits": 4.0},
  "started_at": "2026-03-03T10:00:00Z", "ended_at": "2026-03-03T10:04:10Z"}]}"""

# tryvox.md §2.8: the list (no price) and the detail ("price": "0.0130", "price_unit": "USD").
TRYVOX_LIST = """{"calls": [{"call_uuid": "c0a8012e-7f4b-4c1d-9e2a-1b3c5d7e9f01", "from": "+14155550100", "to": "+14155550199",
 "direction": "outbound", "status": "completed", "duration": 47, "start_time": "2026-04-09T10:30:00Z",
 "answer_time": "2026-04-09T10:30:04Z", "end_time": "2026-04-09T10:30:51Z", "end_reason": "hangup"}],
 "pagination": {"page": 1, "per_page": 20, "total_pages": 5, "total_count": 95}}"""
TRYVOX_DETAIL = """{"call_uuid": "c0a8012e-7f4b-4c1d-9e2a-1b3c5d7e9f01", "from": "+14155550100", "to": "+14155550199",
 "direction": "outbound", "status": "completed", "duration": 47, "start_time": "2026-04-09T10:30:00Z",
 "answer_time": "2026-04-09T10:30:04Z", "end_time": "2026-04-09T10:30:51Z", "end_reason": "hangup",
 "billed_duration": 60, "ring_time": 4, "price": "0.0130", "price_unit": "USD", "recording_url": null}"""


def adapter_at(origin, slug, account_id, api_path, currency="USD"):
    config = AccountConfig(f"{origin}{api_path}", account_id, "published-example-key", currency)
    return adapter_class(slug)(config)


def when(text):
    return datetime.fromisoformat(text).astimezone(UTC)


def test_audian_cdr_example_is_priced_from_the_ledger_entry_naming_its_call_id():
    def answer(method, path, query):
        return 200, AUDIAN_LEDGER if path.endswith("/ledgers/per-minute-voip") else AUDIAN_CDRS

    canned = CannedServer(answer)
    with canned as origin:
        adapter = adapter_at(origin, "audian", "4f0c2a7e9b1d43c8a6e5f7b2d9c1e3a8", "/v2")
        [call] = adapter.iter_calls(when("2024-01-01T00:00:00Z"), when("2024-01-02T00:00:00Z"))
        prices = adapter.price_calls([(call.upstream_id, call.started_at)])
    assert call.upstream_id == "call_xyz789"  # what the ledger's source.id names
    assert (call.from_number, call.to_number) == ("+15551234567", "+15559876543")
    assert (call.started_at, call.duration_seconds, call.billed_seconds) == (
        when("2024-01-01T00:00:00Z"),
        120,
        120,
    )
    assert (call.cost, call.currency) == (None, "USD")
    assert prices["call_xyz789"].cost == Decimal("0.0240")
    assert prices["call_xyz789"].currency == "USD"
    _, cdr_path, cdr_query = canned.requests[0]
    assert cdr_path == "/v2/accounts/4f0c2a7e9b1d43c8a6e5f7b2d9c1e3a8/cdrs"
    # Unix seconds, as the Audian page says (§2.8-C), both ends included.
    assert (cdr_query["created_from"], cdr_query["created_to"]) == ("1704067200", "1704153599")


def test_audian_cdr_without_its_ledger_entry_stays_unpriced():
    empty = '{"auth_token": "x", "page_size": 0, "data": [], "status": "success"}'

    def answer(method, path, query):
        return 200, empty if path.endswith("/ledgers/per-minute-voip") else AUDIAN_CDRS

    with CannedServer(answer) as origin:
        adapter = adapter_at(origin, "audian", "4f0c2a7e9b1d43c8a6e5f7b2d9c1e3a8", "/v2")
        assert adapter.price_calls([("call_xyz789", when("2024-01-01T00:00:00Z"))]) == {}


def test_vobiz_cdr_item_counts_total_cost_and_keeps_its_parts():
    canned = CannedServer(lambda method, path, query: (200, VOBIZ_CDR))
    with canned as origin:
        adapter = adapter_at(origin, "vobiz", "MA_K7Q2M9ZP", "/api/v1", "INR")
        [call] = adapter.iter_calls(when("2025-12-08T00:00:00Z"), when("2025-12-09T00:00:00Z"))
    assert call.upstream_id == "e565c2de-4f1a-4c55-9a51-3d1f0e2b7a90"  # the ledger's cdr_<uuid>
    assert (call.from_number, call.to_number, call.direction) == (
        "+918026646412",
        "+919876543210",
        "outbound",
    )
    assert (call.cost, call.currency, call.billed_seconds) == (Decimal("0.9"), "INR", 70)
    assert call.parts == {"cost": "0.55", "streaming_cost": "0.35"}
    _, path, query = canned.requests[0]
    assert path == "/api/v1/Account/MA_K7Q2M9ZP/cdr"
    assert (query["start_date"], query["end_date"], query["per_page"]) == (
        "2025-12-08",
        "2025-12-08",
        "100",
    )


@pytest.mark.parametrize("body", [RAVAN_SESSIONS_A, RAVAN_SESSIONS_B], ids=["snake", "camel"])
def test_ravan_call_sessions_in_both_published_shapes(body):
    with CannedServer(lambda method, path, query: (200, body)) as origin:
        adapter = adapter_at(origin, "ravan", "019a3f5e-0000-7000-8000-000000000001", "/api/v1")
        calls = list(adapter.iter_calls(None, when("2026-04-01T00:00:00Z")))
    costs = {call.upstream_id[-2:]: (call.cost, call.currency) for call in calls}
    if body is RAVAN_SESSIONS_A:
        assert costs == {"11": (Decimal("0.2917"), "USD"), "12": (Decimal("0.07"), "USD")}
        web = calls[1]
        assert (web.from_number, web.to_number, web.duration_seconds) == ("", "", 60)
    else:
        [call] = calls
        assert costs == {"13": (Decimal("12.50"), "USD")}
        assert call.duration_seconds == 250
        assert call.parts["model_credits"] == "4.2"
        assert call.parts["provider_credits"] == "5.1"
        assert call.parts["total_credits"] == "12.5"


def test_ravan_phone_history_reads_the_string_cost_and_parts_that_do_not_add_up():
    canned = CannedServer(lambda method, path, query: (200, RAVAN_HISTORY))
    with canned as origin:
        adapter = adapter_at(origin, "ravan", "019a3f5e-0000-7000-8000-000000000001", "/api/v1")
        [call] = adapter.iter_number_history("+13612738809")
    assert (call.cost, call.currency, call.duration_seconds) == (Decimal("12.50"), "USD", 250)
    assert call.to_number == "+13612738809"
    assert call.parts == {
        "twilio_cost": "5.1",
        "model_cost": "4.2",
        "model_credits": "4.2",
        "provider_credits": "5.1",
        "telephony_base_credits": "4.0",
    }
    assert canned.requests[0][2]["phone"] == "+13612738809"


def test_tryvox_list_comes_unpriced_and_the_detail_prices_it():
    empty_page = json.dumps(
        {
            "calls": [],
            "pagination": {"page": 2, "per_page": 20, "total_pages": 5, "total_count": 95},
        }
    )

    def answer(method, path, query):
        if path.endswith("/calls/c0a8012e-7f4b-4c1d-9e2a-1b3c5d7e9f01"):
            return 200, TRYVOX_DETAIL
        return 200, TRYVOX_LIST if query.get("page") == "1" else empty_page

    with CannedServer(answer) as origin:
        adapter = adapter_at(origin, "tryvox", "acct_8h3k2p9w4z", "/v1")
        [call] = adapter.iter_calls(None, when("2026-05-01T00:00:00Z"))
        prices = adapter.price_calls([(call.upstream_id, call.started_at)])
    assert (call.from_number, call.to_number, call.duration_seconds) == (
        "+14155550100",
        "+14155550199",
        47,
    )
    assert (call.cost, call.currency) == (None, "")
    price = prices["c0a8012e-7f4b-4c1d-9e2a-1b3c5d7e9f01"]
    assert (price.cost, price.currency, price.billed_seconds) == (Decimal("0.0130"), "USD", 60)
    assert str(price.cost) == "0.0130"


def test_tryvox_detail_without_a_price_yet_is_left_out():
    unpriced = json.loads(TRYVOX_DETAIL) | {"price": None}
    with CannedServer(lambda method, path, query: (200, json.dumps(unpriced))) as origin:
        adapter = adapter_at(origin, "tryvox", "acct_8h3k2p9w4z", "/v1")
        assert adapter.price_calls([(unpriced["call_uuid"], when("2026-04-09T10:30:00Z"))]) == {}


@pytest.mark.parametrize(
    ("slug", "api_path", "body", "field"),
    [
        (
            "vobiz",
            "/api/v1",
            VOBIZ_CDR.replace('"total_cost": 0.9', '"total_cost": "lots"'),
            "total_cost",
        ),
        (
            "audian",
            "/v2",
            AUDIAN_CDRS.replace('"timestamp": 1704067200', '"timestamp": "yesterday"'),
            "timestamp",
        ),
        (
            "ravan",
            "/api/v1",
            RAVAN_SESSIONS_A.replace('"duration_sec": 250', '"duration_sec": 2.5'),
            "duration_sec",
        ),
        (
            "tryvox",
            "/v1",
            TRYVOX_LIST.replace('"call_uuid": "c0a8012e-7f4b-4c1d-9e2a-1b3c5d7e9f01", ', ""),
            "call_uuid",
        ),
    ],
)
def test_a_page_with_a_malformed_call_is_a_clear_unexpected_response(slug, api_path, body, field):
    with CannedServer(lambda method, path, query: (200, body)) as origin:
        adapter = adapter_at(origin, slug, "acct-real-0001", api_path)
        with pytest.raises(errors.UnexpectedResponse) as raised:
            list(adapter.iter_calls(when("2024-01-01T00:00:00Z"), when("2026-06-01T00:00:00Z")))
    assert field in str(raised.value)
