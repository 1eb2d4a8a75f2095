"""The Audian adapter against the literal example responses Audian (and Kazoo, whose API
Audian runs) publish: seeds 000 and 001 and providers/audian.md. The bodies are kept as the
documents print them, floats included, so the adapter parses what the provider publishes and
not only what the sandbox writes."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from portal.providers.audian.adapter import AudianAdapter
from portal.providers.base import AccountConfig, OwnedNumber, SearchQuery
from portal.providers.errors import (
    AuthenticationFailed,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    NumberUnavailable,
    RegionNotAllowed,
    UnexpectedResponse,
    UpstreamUnavailable,
)
from tests.support.canned import CannedUpstream

ACCOUNT_ID = "4f3c9a1e2b7d4c6f8e0a1b2c3d4e5f60"
# Our own (real-looking) key, never the seed's placeholder YOUR_API_KEY.
API_KEY = "ak_live_9Tq4Wm2Xv7Lp3Rz8"
CONFIG = AccountConfig("https://api.audian.com:8443/v2", ACCOUNT_ID, API_KEY)
ACCOUNT = f"/v2/accounts/{ACCOUNT_ID}"

# SEED-000, "Purchase a Phone Number", response.
SEED_PURCHASE = """{
"success": true,
"data": {
"id": "num_abc123",
"number": "+14155551234",
"friendly_name": "Support Line",
"status": "active",
"purchased_at": "2024-01-15T10:30:00Z",
"expires_at": "2025-01-15T10:30:00Z",
"billing": {
"monthly_cost": 0.99,
"next_charge": "2024-02-15T10:30:00Z"
}
}
}"""
# SEED-000, "List Purchased Numbers", response.
SEED_LIST = """{
"success": true,
"data": {
"numbers": [
{
"id": "num_abc123",
"number": "+14155551234",
"friendly_name": "Support Line",
"status": "active",
"purchased_at": "2024-01-15T10:30:00Z",
"expires_at": "2025-01-15T10:30:00Z"
}
],
"total": 5,
"limit": 20,
"offset": 0
}
}"""
# SEED-001, "Get Transactions" and "Get Current Balance".
SEED_TRANSACTIONS = """{
"auth_token": "eyJhbGciOiJSUzI1...",
"data": [
{
"id": "txn_abc123",
"amount": 25.00,
"description": "Monthly phone number rental",
"created": "2026-02-01T00:00:00Z",
"type": "debit"
}
],
"request_id": "req_xyz789",
"status": "success"
}"""
SEED_BALANCE = """{
"auth_token": "eyJhbGciOiJSUzI1...",
"data": {
"balance": 150.00,
"currency": "USD"
},
"status": "success"
}"""
# §2.3-R, docs.audian.com/numbers/search.
SEARCH = """{"success": true,
 "data": {"numbers": [
   {"number": "+14155551234", "location": "San Francisco, CA", "available": true,
    "price": {"monthly": 0.99, "setup": 0}, "features": ["voice", "sms", "mms"]}],
  "total": 50, "limit": 10, "offset": 0}}"""
INVALID_LOCATION = """{"success": false, "error": {"code": "INVALID_LOCATION",
 "message": "The specified location code is invalid"}}"""
# §2.5-R, docs.audian.com/numbers/configuration.
CONFIG_RESPONSE = """{"success": true,
 "data": {"id": "num_abc123", "number": "+14155551234", "friendly_name": "Support Line",
          "call_forwarding": {"enabled": true, "forward_to": "+14155559999",
                              "rings_before_forward": 4},
          "voicemail": {"enabled": true, "transcription": true, "delete_after_days": 30}}}"""
# §2.2-K, docs.audian.com/numbers and Kazoo's phone_numbers.md.
KAZOO_NUMBER = """{"auth_token": "…", "status": "success", "request_id": "…", "revision": "…",
 "data": {"id": "+14155552671", "state": "in_service", "features": ["local"],
          "cnam": {"display_name": "ACME", "inbound_lookup": true},
          "my_own_field": "any custom public field",
          "_read_only": {"created": 63627848989, "modified": 63627848989, "state": "in_service",
                         "features": ["local"], "features_available": ["cnam", "e911", "port"],
                         "used_by": "callflow"}}}"""
KAZOO_NOT_FOUND = """{"auth_token": "…", "data": {"message": "bad identifier",
 "not_found": "The number could not be found"},
 "error": "404", "message": "bad_identifier", "request_id": "…", "status": "error"}"""
# §1.2, docs.audian.com/errors and /authentication.
KAZOO_UNAUTHORIZED = """{"auth_token": "…", "data": {"message": "invalid credentials"},
 "error": "401", "message": "unauthorized", "request_id": "req_xyz789", "status": "error"}"""
# §2.7 [KAZOO]: current_balance has no currency.
KAZOO_CURRENT_BALANCE = """{"auth_token": "…", "status": "success", "data": {"balance": 9.18}}"""
# §2.9 [KAZOO] service plans: the list, then one plan's document.
KAZOO_PLANS = """{"page_size": 1, "status": "success", "auth_token": "…",
 "data": [{"id": "some_plan_id", "name": "Reseller Test plan",
           "description": "Some description"}]}"""
KAZOO_PLAN = """{"status": "success", "auth_token": "…",
 "data": {"id": "some_plan_id", "name": "Reseller Test plan",
          "plan": {"phone_numbers": {
             "did_us": {"name": "US DID", "rate": 2, "activation_charge": 3},
             "tollfree_us": {"rate": 4.99}}}}}"""
# §3: Kazoo's 402 (charges to accept) and 409, and the errors/error-codes shape.
KAZOO_ACCEPT_CHARGES = """{"data": {"phone_numbers": {"did_us": {"category": "phone_numbers",
 "item": "did_us", "quantity": 1, "rate": 2.0, "activation_charges": 1.0}},
 "activation_charges": 1.0},
 "error": "402", "message": "accept charges", "status": "error"}"""
KAZOO_NUMBER_EXISTS = """{"data": {"cause": "+14155550001", "code": 409, "error": "number_exists",
 "message": "number +14155550001 already exists"}, "error": "409", "message": "number_exists",
 "status": "error"}"""
API_INSUFFICIENT_FUNDS = """{"error": {"code": "insufficient_funds",
 "message": "Insufficient funds", "type": "insufficient_funds_error"}}"""
API_INVALID_KEY = """{"error": {"code": "invalid_api_key", "message": "Invalid API key",
 "type": "authentication_error"}}"""


class Upstream(CannedUpstream):
    """Answers `routes[(method, path)]` = (status, text)."""

    adapter_class, config = AudianAdapter, CONFIG

    def __init__(self, routes):
        super().__init__()
        self.routes = routes

    def answer(self, request):
        return self.routes[(request.method, request.url.path)]


def adapter_answering(routes, seen=None):
    """An adapter whose upstream answers `routes`; the requests it sees go to `seen`."""
    upstream = Upstream(routes)
    if seen is not None:
        upstream.requests = seen
    return upstream.adapter()


def test_seed_purchase_response_parses_with_the_exact_monthly_cost():
    seen = []
    adapter = adapter_answering({("POST", "/v2/numbers/purchase"): (200, SEED_PURCHASE)}, seen)
    owned = adapter.purchase("+14155551234", label="Support Line")
    assert owned == OwnedNumber(
        number="+14155551234",
        status="active",
        currency="USD",
        upstream_id="num_abc123",
        label="Support Line",
        country="US",
        number_type="local",
        monthly_fee=Decimal("0.99"),
        purchased_at=datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
    )
    assert str(owned.monthly_fee) == "0.99"
    (request,) = seen
    assert request.headers["X-Auth-Token"] == API_KEY
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "number": "+14155551234",
        "friendly_name": "Support Line",
    }


def test_seed_list_response_parses_and_an_empty_page_ends_the_walk():
    empty = '{"success": true, "data": {"numbers": [], "total": 5, "limit": 100, "offset": 1}}'
    seen = []

    def answer(request):
        seen.append(request)
        first = request.url.params["offset"] == "0"
        return httpx.Response(200, content=(SEED_LIST if first else empty).encode())

    adapter = AudianAdapter(CONFIG, transport=httpx.MockTransport(answer))
    (number,) = adapter.iter_owned_numbers()
    assert (number.number, number.upstream_id, number.label) == (
        "+14155551234",
        "num_abc123",
        "Support Line",
    )
    assert [dict(r.url.params) for r in seen] == [
        {"limit": "100", "offset": "0"},
        {"limit": "100", "offset": "1"},
    ]


def test_seed_transactions_parse_to_exact_decimals():
    adapter = adapter_answering({("GET", f"{ACCOUNT}/transactions"): (200, SEED_TRANSACTIONS)})
    (transaction,) = adapter.iter_transactions()
    assert transaction.upstream_id == "txn_abc123"
    assert (transaction.kind, transaction.amount, transaction.currency) == (
        "debit",
        Decimal("25.00"),
        "USD",
    )
    assert transaction.occurred_at == datetime(2026, 2, 1, tzinfo=UTC)
    assert transaction.description == "Monthly phone number rental"


def test_kazoo_transactions_with_gregorian_seconds_and_float_noise():
    """§2.8-K and §4: upstream Kazoo items stamp `created` in Gregorian seconds and show
    float noise such as 10.179999999999999716; `created_from` is sent the same way."""
    body = """{"status": "success", "data": [
      {"id": "0d4ef2b9c1", "amount": 10.179999999999999716, "type": "credit",
       "reason": "admin_discretion", "code": 3005, "created": 63598331974,
       "description": "credit from support", "metadata": {"ui": true}}]}"""
    seen = []
    adapter = adapter_answering({("GET", f"{ACCOUNT}/transactions"): (200, body)}, seen)
    since = datetime(2015, 4, 1, tzinfo=UTC)
    (transaction,) = adapter.iter_transactions(since)
    assert transaction.amount == Decimal("10.1800")
    assert transaction.occurred_at == datetime.fromtimestamp(63598331974 - 62167219200, UTC)
    assert seen[0].url.params["created_from"] == str(int(since.timestamp()) + 62167219200)


def test_family_r_transaction_items_map_their_types():
    """§2.8-R's example items: charge is a debit, payment a credit; currency and reference
    are read from the item."""
    items = json.loads(
        """[{"id": "txn_abc123", "type": "charge", "description": "SMS charges for January 2024",
        "amount": 12.34, "currency": "USD", "status": "completed",
        "created_at": "2024-02-01T10:30:00Z", "reference": "inv_abc123"},
        {"id": "txn_abc124", "type": "payment", "description": "Payment received",
        "amount": 150.75, "currency": "USD", "status": "completed",
        "created_at": "2024-02-15T14:22:00Z", "reference": "inv_abc123",
        "payment_method": "visa_****1234"}]"""
    )
    body = json.dumps({"status": "success", "data": items})
    adapter = adapter_answering({("GET", f"{ACCOUNT}/transactions"): (200, body)})
    charge, payment = adapter.iter_transactions()
    assert (charge.kind, str(charge.amount), charge.reference) == ("debit", "12.34", "inv_abc123")
    assert (payment.kind, str(payment.amount)) == ("credit", "150.75")


def test_seed_balance_parses_and_kazoo_current_balance_is_the_fallback():
    adapter = adapter_answering({("GET", f"{ACCOUNT}/balance"): (200, SEED_BALANCE)})
    balance = adapter.get_balance()
    assert (balance.amount, str(balance.amount), balance.currency) == (
        Decimal("150.00"),
        "150.00",
        "USD",
    )
    fallback = adapter_answering(
        {
            ("GET", f"{ACCOUNT}/balance"): (404, KAZOO_NOT_FOUND),
            ("GET", f"{ACCOUNT}/transactions/current_balance"): (200, KAZOO_CURRENT_BALANCE),
        }
    )
    assert fallback.get_balance().amount == Decimal("9.18")
    assert fallback.get_balance().currency == "USD"


def test_search_example_parses_prices_and_features():
    seen = []
    adapter = adapter_answering({("GET", "/v2/numbers/search"): (200, SEARCH)}, seen)
    (offer,) = adapter.search_available(SearchQuery(area="415", contains="55", limit=1))
    assert (offer.number, offer.region, offer.number_type) == (
        "+14155551234",
        "San Francisco, CA",
        "local",
    )
    assert (offer.monthly_fee, offer.setup_fee) == (Decimal("0.99"), Decimal("0"))
    assert offer.capabilities == frozenset({"voice", "sms", "mms"})
    assert dict(seen[0].url.params) == {
        "location": "US",
        "limit": "1",
        "pattern": "415*55*",
        "offset": "0",
    }


def test_invalid_location_error_is_an_invalid_request():
    adapter = adapter_answering({("GET", "/v2/numbers/search"): (400, INVALID_LOCATION)})
    with pytest.raises(InvalidRequest, match="location code is invalid") as refused:
        adapter.search_available(SearchQuery(area="ZZ"))
    assert refused.value.code == "INVALID_LOCATION"


def test_kazoo_number_document_by_e164():
    seen = []
    path = f"{ACCOUNT}/phone_numbers/+14155552671"
    adapter = adapter_answering({("GET", path): (200, KAZOO_NUMBER)}, seen)
    number = adapter.get_number("+14155552671")
    assert (number.number, number.status, number.upstream_id, number.label) == (
        "+14155552671",
        "active",
        "",
        "",
    )
    assert number.purchased_at == datetime.fromtimestamp(63627848989 - 62167219200, UTC)
    assert seen[0].url.raw_path.endswith(b"/phone_numbers/%2B14155552671")  # §5.11


def test_config_example_is_the_label_update_answer():
    seen = []
    adapter = adapter_answering(
        {("PUT", "/v2/numbers/num_abc123/config"): (200, CONFIG_RESPONSE)}, seen
    )
    before = OwnedNumber("+14155551234", "active", "USD", upstream_id="num_abc123")
    assert adapter.update_label(before, "Support Line").label == "Support Line"
    assert json.loads(seen[0].content) == {"friendly_name": "Support Line"}


@pytest.mark.parametrize(
    ("status", "text"),
    [(204, ""), (200, '{"success": true, "data": {"id": "num_abc123", "status": "released"}}')],
)
def test_release_accepts_204_and_200(status, text):
    adapter = adapter_answering({("DELETE", "/v2/numbers/num_abc123"): (status, text)})
    number = OwnedNumber("+14155551234", "active", "USD", upstream_id="num_abc123")
    assert adapter.release(number) is None


def test_service_plans_read_rates_from_the_plan_document():
    adapter = adapter_answering(
        {
            ("GET", f"{ACCOUNT}/service_plans"): (200, KAZOO_PLANS),
            ("GET", f"{ACCOUNT}/service_plans/some_plan_id"): (200, KAZOO_PLAN),
        }
    )
    (plan,) = adapter.list_service_plans()
    assert (plan.upstream_id, plan.name, plan.description) == (
        "some_plan_id",
        "Reseller Test plan",
        "Some description",
    )
    assert plan.rates == {
        "did_us": {"name": "US DID", "rate": "2", "activation_charge": "3"},
        "tollfree_us": {"name": "tollfree_us", "rate": "4.99"},
    }


@pytest.mark.parametrize(
    ("status", "text", "error", "code"),
    [
        (404, KAZOO_NOT_FOUND, NotFound, "bad_identifier"),
        (401, KAZOO_UNAUTHORIZED, AuthenticationFailed, "unauthorized"),
        (402, KAZOO_ACCEPT_CHARGES, InsufficientFunds, "accept charges"),
        (409, KAZOO_NUMBER_EXISTS, NumberUnavailable, "number_exists"),
        (402, API_INSUFFICIENT_FUNDS, InsufficientFunds, "insufficient_funds"),
        (401, API_INVALID_KEY, AuthenticationFailed, "invalid_api_key"),
    ],
)
def test_documented_error_bodies_map_by_table(status, text, error, code):
    adapter = adapter_answering({("POST", "/v2/numbers/purchase"): (status, text)})
    with pytest.raises(error) as raised:
        adapter.purchase("+14155550001")
    assert (raised.value.status, raised.value.code) == (status, code)
    assert raised.value.message and "{" not in raised.value.message


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422, 500])
@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("NUMBER_UNAVAILABLE", NumberUnavailable),
        ("INSUFFICIENT_CREDIT", InsufficientFunds),
        ("INVALID_REGION", RegionNotAllowed),
        ("PURCHASE_FAILED", UpstreamUnavailable),
    ],
)
def test_seed_purchase_codes_win_whatever_their_status(status, code, error):
    """SEED-000 names the codes but not their HTTP statuses (§5.14)."""
    text = json.dumps({"success": False, "error": {"code": code, "message": "refused"}})
    adapter = adapter_answering({("POST", "/v2/numbers/purchase"): (status, text)})
    with pytest.raises(error):
        adapter.purchase("+14155550001")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda n: n.update(number=14155551234), "number"),
        (lambda n: n.update(friendly_name=12.5), "friendly_name"),
        (lambda n: n.update(status="haunted"), "status"),
        (lambda n: n.pop("id"), "id"),
        (lambda n: n["billing"].update(monthly_cost=True), "monthly_cost"),
        (lambda n: n.update(purchased_at="last tuesday"), "purchased_at"),
    ],
    ids=["number-int", "label-float", "status-unknown", "id-missing", "cost-bool", "date"],
)
def test_a_wrong_shape_is_an_unexpected_response_naming_the_field(change, field):
    body = json.loads(SEED_PURCHASE)
    change(body["data"])
    adapter = adapter_answering({("POST", "/v2/numbers/purchase"): (200, json.dumps(body))})
    with pytest.raises(UnexpectedResponse, match=field) as raised:
        adapter.purchase("+14155551234")
    assert API_KEY not in raised.value.excerpt


def test_a_list_without_total_is_an_unexpected_response():
    body = json.loads(SEED_LIST)
    del body["data"]["total"]
    adapter = adapter_answering({("GET", "/v2/numbers"): (200, json.dumps(body))})
    with pytest.raises(UnexpectedResponse, match="total is missing"):
        list(adapter.iter_owned_numbers())


def test_the_echoed_auth_token_never_reaches_an_excerpt():
    body = SEED_BALANCE.replace('"balance": 150.00', '"balance": "lots"')
    adapter = adapter_answering({("GET", f"{ACCOUNT}/balance"): (200, body)})
    with pytest.raises(UnexpectedResponse) as raised:
        adapter.get_balance()
    assert "eyJhbGciOiJSUzI1" not in raised.value.excerpt
