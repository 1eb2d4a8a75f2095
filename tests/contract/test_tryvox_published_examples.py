"""The TryVox adapter reads the literal examples TryVox publishes (seed 004, docs.tryvox.io
as quoted in tryvox.md), not only what the sandbox writes. Bodies are kept as text, exactly
as published, so `2.50` reaches the parser as written."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from portal.providers.base import AccountConfig, AvailableNumber, OwnedNumber, SearchQuery
from portal.providers.errors import (
    AuthenticationFailed,
    InsufficientFunds,
    InvalidNumber,
    NotFound,
    NumberUnavailable,
    RateLimited,
    UnexpectedResponse,
    UpstreamUnavailable,
)
from portal.providers.tryvox.adapter import TryVoxAdapter
from tests.support.canned import CannedUpstream

SECRET = "tvx_sk_live_4f9c2e7a1b"
# Our own (real-looking) account, never the documented example acc_123abc.
ACCOUNT_ID = "acc_7Hq2LmX9"
ROOT = f"/v1/account/{ACCOUNT_ID}"

# tryvox.md §2.1 (docs.tryvox.io/numbers/list), including its inconsistent `count`.
LIST_EXAMPLE = """{"data": [
  {"e164": "+14155551234", "country": "US", "type": "local", "region": "CA", "status": "active",
   "capabilities": ["voice", "sms", "mms"], "monthly_fee": 1.25, "setup_fee": 0.00, "currency": "USD",
   "trunk_id": "trunk_abc123", "application_id": null,
   "created_at": "2026-03-15T08:20:00Z", "updated_at": "2026-04-01T14:30:00Z"},
  {"e164": "+919876543210", "country": "IN", "type": "local", "region": "Maharashtra", "status": "active",
   "capabilities": ["voice", "sms"], "monthly_fee": 2.50, "setup_fee": 0.00, "currency": "USD",
   "trunk_id": null, "application_id": "app_xyz789",
   "created_at": "2026-04-09T10:30:00Z", "updated_at": "2026-04-09T10:30:00Z"}],
 "pagination": {"total": 47, "count": 2, "per_page": 20, "current_page": 1, "total_pages": 3}}"""  # noqa: E501

# Seed 004 (docs.tryvox.io/numbers/purchase), the response as published.
PURCHASE_EXAMPLE = """{
"e164": "+919876543210",
"country": "IN",
"type": "local",
"region": "Maharashtra",
"status": "active",
"capabilities": ["voice", "sms"],
"monthly_fee": 2.50,
"setup_fee": 0.00,
"currency": "USD",
"trunk_id": null,
"application_id": null,
"created_at": "2026-04-09T10:30:00Z",
"updated_at": "2026-04-09T10:30:00Z"
}"""

# tryvox.md §2.3 [INFERRED endpoint], §2.6 (docs.tryvox.io/numbers/release), §2.7 [INFERRED].
INVENTORY_EXAMPLE = """{"data": [{"e164": "+14155550123", "country": "US", "type": "local",
  "region": "CA", "status": "available", "capabilities": ["voice", "sms"], "monthly_fee": 1.25,
  "setup_fee": 0.00, "currency": "USD"}],
 "pagination": {"total": 312, "count": 1, "per_page": 20, "current_page": 1, "total_pages": 16}}"""
RELEASE_EXAMPLE = """{"e164": "+14155551234", "status": "released",
  "released_at": "2026-04-09T11:45:00Z", "early_termination_fee": 0.00, "currency": "USD",
  "cooling_off_period_days": 30, "available_after": "2026-05-09T11:45:00Z"}"""
BALANCE_EXAMPLE = """{"account_id": "acc_123abc", "balance": 125.5000, "currency": "USD",
  "updated_at": "2026-04-09T12:00:00Z"}"""

# tryvox.md §2.4, §2.2, §2.9 and §4: the error bodies, with their statuses.
ERROR_EXAMPLES = [
    (
        400,
        '{"error": {"code": "VALIDATION_FAILED", "message": "Request validation failed", '
        '"details": [{"field": "e164", "reason": "must be E.164 format"}]}}',
        InvalidNumber,
    ),
    (
        404,
        '{"error": {"code": "NOT_FOUND", "message": "Number not found in available inventory"}}',
        NumberUnavailable,
    ),
    (
        409,
        '{"error": {"code": "NUMBER_UNAVAILABLE", '
        '"message": "Number +919876543210 has already been purchased"}}',
        NumberUnavailable,
    ),
    (
        402,
        '{"error": {"code": "INSUFFICIENT_BALANCE", "message": "Insufficient account balance", '
        '"details": [{"field": "balance", "reason": "required 2.50 USD, available 1.10 USD"}]}}',
        InsufficientFunds,
    ),
    (
        401,
        '{"error": {"code": "UNAUTHORIZED", "message": "Invalid or missing API key"}}',
        AuthenticationFailed,
    ),
    (
        429,
        '{"error": {"code": "RATE_LIMITED", "message": "Too many requests"}}',
        RateLimited,
    ),
    (
        500,
        '{"error": {"code": "INTERNAL_ERROR", "message": "Internal error"}}',
        UpstreamUnavailable,
    ),
]


JSON = {"Content-Type": "application/json"}


class Upstream(CannedUpstream):
    """Answers (method, path) with published text."""

    adapter_class = TryVoxAdapter
    config = AccountConfig("https://api.tryvox.io/v1", ACCOUNT_ID, SECRET)
    headers = JSON

    def __init__(self, routes):
        super().__init__()
        self.routes = routes

    def answer(self, request):
        key = (request.method, request.url.raw_path.decode().split("?")[0])
        return self.routes.get(key, (404, '{"error": {"code": "NOT_FOUND"}}'))


class Paged(Upstream):
    """Answers every page after the first with an empty one."""

    def answer(self, request):
        if request.url.params.get("page", "1") == "1":
            return super().answer(request)
        return 200, EMPTY_PAGE


EMPTY_PAGE = '{"data": [], "pagination": {"total": 47, "count": 0, "per_page": 100, "current_page": 2, "total_pages": 3}}'  # noqa: E501


def test_list_example_parses_with_exact_amounts():
    upstream = Paged({("GET", f"{ROOT}/numbers"): (200, LIST_EXAMPLE)})
    first, second = upstream.adapter().iter_owned_numbers()
    assert first == OwnedNumber(
        number="+14155551234",
        status="active",
        currency="USD",
        country="US",
        region="CA",
        number_type="local",
        capabilities=frozenset({"voice", "sms", "mms"}),
        setup_fee=Decimal("0.00"),
        monthly_fee=Decimal("1.25"),
        purchased_at=datetime(2026, 3, 15, 8, 20, tzinfo=UTC),
    )
    assert str(second.monthly_fee) == "2.50" and second.region == "Maharashtra"
    # tryvox.md §2.1: the example claims 3 pages; page 2 comes back empty, which ends it.
    assert [request.url.params["page"] for request in upstream.requests] == ["1", "2"]
    assert upstream.requests[0].url.params["per_page"] == "100"
    assert upstream.requests[0].headers["Authorization"] == f"Bearer {SECRET}"


def test_seed_purchase_example_and_request():
    for status in (200, 201):  # tryvox.md §6.7: the success status is not stated
        upstream = Upstream(
            {("POST", f"{ROOT}/numbers/purchase-from-inventory"): (status, PURCHASE_EXAMPLE)}
        )
        # TryVox numbers have no label (tryvox.md §2.5): the portal keeps it, none is sent.
        bought = upstream.adapter().purchase("+919876543210", label="Café Zürich \u2013 東京")
        assert (bought.number, bought.status, bought.country) == ("+919876543210", "active", "IN")
        assert bought.monthly_fee == Decimal("2.50") and bought.setup_fee == Decimal("0.00")
        assert bought.purchased_at == datetime(2026, 4, 9, 10, 30, tzinfo=UTC)
        sent = upstream.requests[0]
        assert json.loads(sent.content) == {"e164": "+919876543210", "country": "IN"}
        assert sent.headers["Content-Type"] == "application/json"


def test_a_quoted_purchase_sends_only_the_documented_fields():
    # Seed 004 documents `e164` and `country` only: a strict API refuses anything else.
    upstream = Upstream(
        {("POST", f"{ROOT}/numbers/purchase-from-inventory"): (200, PURCHASE_EXAMPLE)}
    )
    quote = AvailableNumber(
        "+919876543210", "USD", country="IN", setup_fee=Decimal(0), monthly_fee=Decimal("2.50")
    )
    upstream.adapter().purchase("+919876543210", label="Sales", quote=quote)
    assert json.loads(upstream.requests[0].content) == {"e164": "+919876543210", "country": "IN"}


def test_inventory_example():
    upstream = Upstream({("GET", f"{ROOT}/inventory/numbers"): (200, INVENTORY_EXAMPLE)})
    (found,) = upstream.adapter().search_available(SearchQuery(country="US", limit=1))
    assert (found.number, found.region, found.currency) == ("+14155550123", "CA", "USD")
    assert found.monthly_fee == Decimal("1.25") and found.capabilities == {"voice", "sms"}
    assert upstream.requests[0].url.params["country"] == "US"


def test_release_example_and_literal_plus_in_the_path():
    path = f"{ROOT}/numbers/+14155551234"
    upstream = Upstream({("DELETE", path): (200, RELEASE_EXAMPLE)})
    upstream.adapter().release(OwnedNumber("+14155551234", "active", "USD"))
    assert upstream.requests[0].url.raw_path.decode() == path


def test_balance_example():
    upstream = Upstream({("GET", f"{ROOT}/balance"): (200, BALANCE_EXAMPLE)})
    balance = upstream.adapter().get_balance()
    assert str(balance.amount) == "125.5000" and balance.currency == "USD"


@pytest.mark.parametrize(("status", "body", "error"), ERROR_EXAMPLES)
def test_documented_error_bodies(status, body, error):
    upstream = Upstream({("POST", f"{ROOT}/numbers/purchase-from-inventory"): (status, body)})
    with pytest.raises(error) as raised:
        upstream.adapter().purchase("+919876543210")
    published = json.loads(body)["error"]
    assert (raised.value.status, raised.value.code) == (status, published["code"])
    assert raised.value.message == published["message"]


def test_get_of_a_number_not_on_the_account():
    # tryvox.md §2.2 [INFERRED] 404 body: on a read it means "not yours", not "taken".
    body = '{"error": {"code": "NOT_FOUND", "message": "Number +14155551234 not found in this account"}}'  # noqa: E501
    upstream = Upstream({("GET", f"{ROOT}/numbers/+14155551234"): (404, body)})
    with pytest.raises(NotFound, match="not found in this account"):
        upstream.adapter().get_number("+14155551234")


def test_documented_variants_a_careful_client_accepts():
    # tryvox.md §6.4: a `{"data": …}` wrapper; §3.1: amounts as numeric strings.
    wrapped = json.dumps({"data": {**json.loads(PURCHASE_EXAMPLE), "monthly_fee": "2.50"}})
    # §6.3: the calls pagination shape (page/total_count) still carries total_pages.
    calls_style = LIST_EXAMPLE.replace(
        '"total": 47, "count": 2, "per_page": 20, "current_page": 1, "total_pages": 3',
        '"page": 1, "per_page": 20, "total_pages": 1, "total_count": 2',
    )
    upstream = Upstream(
        {
            ("GET", f"{ROOT}/numbers/+919876543210"): (200, wrapped),
            ("GET", f"{ROOT}/numbers"): (200, calls_style),
        }
    )
    adapter = upstream.adapter()
    assert adapter.get_number("+919876543210").monthly_fee == Decimal("2.50")
    assert len(list(adapter.iter_owned_numbers())) == 2


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"monthly_fee": None}, "monthly_fee is missing"),
        ({"e164": 919876543210}, "e164: expected a phone number"),
        ({"status": "frozen"}, "unknown value 'frozen'"),
        ({"capabilities": "voice"}, "capabilities: expected a list"),
        ({"created_at": "9 April"}, "created_at"),
        ({"currency": "dollars"}, "not an ISO currency code"),
    ],
)
def test_a_wrong_shape_is_an_unexpected_response_without_secrets(change, problem):
    body = json.dumps({**json.loads(PURCHASE_EXAMPLE), **change, "api_key": SECRET})
    upstream = Upstream({("GET", f"{ROOT}/numbers/+919876543210"): (200, body)})
    with pytest.raises(UnexpectedResponse, match=problem) as raised:
        upstream.adapter().get_number("+919876543210")
    assert SECRET not in raised.value.excerpt and SECRET not in str(raised.value)


def test_a_float_amount_is_read_exactly():
    # A float-looking amount such as 0.99 must not pass through binary floating point.
    body = PURCHASE_EXAMPLE.replace('"monthly_fee": 2.50', '"monthly_fee": 0.99')
    upstream = Upstream({("GET", f"{ROOT}/numbers/+919876543210"): (200, body)})
    assert str(upstream.adapter().get_number("+919876543210").monthly_fee) == "0.99"
