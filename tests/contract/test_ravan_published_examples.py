"""The Ravan adapter on the literal example responses Ravan publishes (ravan.md, seed 003),
so it parses what the provider documents, not only what the sandbox writes. Bodies are
copied verbatim as text: JSON numbers such as 1.15 must reach the records as exact Decimals."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from portal.providers.base import AccountConfig, AvailableNumber, OwnedNumber, SearchQuery
from portal.providers.errors import (
    AuthenticationFailed,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    NumberUnavailable,
    PriceChanged,
    RegionNotAllowed,
    UnexpectedResponse,
    UpstreamUnavailable,
)
from portal.providers.ravan.adapter import RavanAdapter
from tests.support.canned import CannedUpstream

BASE_URL = "https://api.ravan.ai/api/v1"
# Our own organisation, not the published profile's example id (019c0a11-…).
ORG_ID = "01a7d3e2-5c4b-7f19-9e28-6b0d4c8a1f37"
API_KEY = "ravan_test_0123456789abcdef0123456789abcdef"

# ravan.md §2.1 [DOCS-SRC list-purchased-numbers]
LIST_EXAMPLE = """{"success": true, "message": "Phone numbers fetched successfully",
 "data": [{"id": "019d2a1b-4c5e-7f8a-9b0c-1d2e3f4a5b6c", "telephony_id": "019d2a1b-5d6f-7a8b-9c0d-2e3f4a5b6c7d",
           "subscription_id": "sub_1234567890", "inbound_trunk_id": "trk_inb_abc123",
           "outbound_trunk_id": "trk_out_def456", "number": "+13612738809", "friendly_name": "Sales Line",
           "per_minute_price_inbound": 0.0085, "per_minute_price_outbound": 0.0945, "price": 1.15,
           "region": "TX", "iso_country": "US", "is_active": true,
           "created_at": "2026-03-15T09:00:00Z", "updated_at": "2026-03-15T09:00:00Z"}]}"""  # noqa: E501

# ravan.md §2.3 [DOCS-SRC list-available-numbers]: the only concrete example, camelCase.
AVAILABLE_EXAMPLE = """{"success": true, "message": "Available numbers fetched successfully",
 "data": [{"isoCountry": "US", "phoneNumber": "+13612738809", "price": 1.15,
           "perMinutePriceOutbound": 0.0945, "perMinutePriceInbound": 0.0085, "telephonyType": ""}]}"""  # noqa: E501

# ravan.md §2.3: the OpenAPI `PhoneNumber` schema's snake_case names for the same item.
AVAILABLE_SCHEMA_SPELLING = """{"success": true, "message": "Available numbers fetched successfully",
 "data": [{"iso_country": "US", "phone_number": "+13612738809", "price": 1.15,
           "per_minute_price_outbound": 0.0945, "per_minute_price_inbound": 0.0085}]}"""  # noqa: E501

# Seed 003 (Buy Phone Number): the request body of its curl example, and its response.
SEED_BUY_REQUEST = """{
    "phone_number": "+13612738809",
    "price": 1.15,
    "per_minute_price_inbound": 0.0085,
    "per_minute_price_outbound": 0.0945
  }"""
SEED_BUY_RESPONSE = """{
  "success": true,
  "message": "Phone number purchased successfully",
  "data": {
    "phone_number": "+13612738809",
    "price": 1.15,
    "status": "active",
    "purchased_at": "2026-03-20T14:30:00Z"
  }
}"""

# ravan.md §2.6 [DOCS-SRC release-number]
RELEASE_EXAMPLE = """{"success": true, "message": "Phone number released successfully",
 "data": {"phone_number": "+13612738809", "status": "released", "released_at": "2026-03-20T16:00:00Z"}}"""  # noqa: E501

# ravan.md §2.7 [DOCS organizations/profile]: documented fields at the top level, no envelope.
PROFILE_AT_ROOT = """{"id": "019c0a11-2b3c-7d4e-8f90-a1b2c3d4e5f6", "name": "Demo Org", "slug": "demo-org",
 "status": "active", "total_credits": 48.25, "max_credits": 1000, "plan_name": "Growth",
 "sub_status": "active", "period_end": "2026-04-14T00:00:00Z", "max_concurrency": 5,
 "api_rate_limit": 600, "can_record_calls": true, "can_use_api": true}"""  # noqa: E501

# ravan.md §2.7: the same fields in the usual envelope, as the reference's simulator writes them.
PROFILE_IN_ENVELOPE = (
    '{"success": true, "message": "Organization profile fetched successfully", "data": '
    f"{PROFILE_AT_ROOT}}}"
)


class Upstream(CannedUpstream):
    """Answers every request with one canned response."""

    adapter_class = RavanAdapter
    config = AccountConfig(base_url=BASE_URL, upstream_account_id=ORG_ID, secret=API_KEY)

    def __init__(self, status: int, body: str):
        super().__init__()
        self.status, self.body = status, body

    def answer(self, request):
        return self.status, self.body


def answering(body: str, status: int = 200) -> tuple[Upstream, RavanAdapter]:
    upstream = Upstream(status, body)
    return upstream, upstream.adapter()


def example_offer() -> AvailableNumber:
    _, adapter = answering(AVAILABLE_EXAMPLE)
    return adapter.search_available(SearchQuery(country="US"))[0]


def test_the_published_number_object_parses():
    upstream, adapter = answering(LIST_EXAMPLE)
    (number,) = adapter.iter_owned_numbers()
    assert number == OwnedNumber(
        number="+13612738809",
        status="active",
        currency="USD",
        upstream_id="019d2a1b-4c5e-7f8a-9b0c-1d2e3f4a5b6c",
        label="Sales Line",
        country="US",
        region="TX",
        number_type="local",  # Ravan states no type: +1 361 is a local area code
        capabilities=frozenset({"voice"}),
        monthly_fee=Decimal("1.15"),
        purchased_at=datetime(2026, 3, 15, 9, tzinfo=UTC),
    )
    (request,) = upstream.requests
    assert request.url.path == "/api/v1/phone-numbers/list"
    assert request.headers["X-Api-Key"] == API_KEY


def test_an_inactive_number_is_suspended():
    _, adapter = answering(LIST_EXAMPLE.replace('"is_active": true', '"is_active": false'))
    assert next(adapter.iter_owned_numbers()).status == "suspended"


def test_the_newest_pages_integer_price_parses():
    # ravan.md §3.1: the newest docs page shows "price": 1 (the OpenAPI types it int32).
    _, adapter = answering(LIST_EXAMPLE.replace('"price": 1.15', '"price": 1'))
    assert next(adapter.iter_owned_numbers()).monthly_fee == Decimal("1")


def test_the_other_doc_builds_example_parses():
    # ravan.md §6.8: another build shows +14155550100 at 1.99.
    body = LIST_EXAMPLE.replace("+13612738809", "+14155550100").replace("1.15", "1.99")
    _, adapter = answering(body)
    number = adapter.get_number("+1 415 555 0100")
    assert (number.number, number.monthly_fee) == ("+14155550100", Decimal("1.99"))


@pytest.mark.parametrize("body", [AVAILABLE_EXAMPLE, AVAILABLE_SCHEMA_SPELLING])
def test_the_published_available_numbers_parse_in_both_spellings(body):
    upstream, adapter = answering(body)
    (offer,) = adapter.search_available(SearchQuery(country="us", area="TX", limit=5))
    assert (offer.number, offer.country, offer.region, offer.currency) == (
        "+13612738809",
        "US",
        "TX",
        "USD",
    )
    assert (offer.monthly_fee, offer.number_type) == (Decimal("1.15"), "local")
    assert offer.quote == {
        "price": Decimal("1.15"),
        "per_minute_price_inbound": Decimal("0.0085"),
        "per_minute_price_outbound": Decimal("0.0945"),
    }
    (request,) = upstream.requests
    assert request.url.path == "/api/v1/phone-numbers/available-numbers/US/"
    assert dict(request.url.params) == {"page_size": "5", "region": "TX"}


def test_a_purchase_echoes_the_quote_exactly_as_seed_003_sends_it():
    upstream, adapter = answering(SEED_BUY_RESPONSE)
    bought = adapter.purchase("+13612738809", quote=example_offer())

    (request,) = upstream.requests
    assert (request.method, request.url.path) == ("POST", "/api/v1/phone-numbers/buy/")
    assert request.headers["Content-Type"] == "application/json"
    sent = json.loads(request.content, parse_float=Decimal)
    assert sent == json.loads(SEED_BUY_REQUEST, parse_float=Decimal)
    assert b'"per_minute_price_inbound":0.0085' in request.content  # a number, not a string
    assert bought == OwnedNumber(
        number="+13612738809",
        status="active",
        currency="USD",
        country="US",
        capabilities=frozenset({"voice"}),
        monthly_fee=Decimal("1.15"),
        purchased_at=datetime(2026, 3, 20, 14, 30, tzinfo=UTC),
    )


def test_release_sends_the_number_with_a_literal_plus():
    upstream, adapter = answering(RELEASE_EXAMPLE)
    adapter.release(OwnedNumber(number="+13612738809", status="active", currency="USD"))
    (request,) = upstream.requests
    assert request.method == "DELETE"
    assert request.url.raw_path == b"/api/v1/phone-numbers/+13612738809/release/"


@pytest.mark.parametrize("body", [PROFILE_AT_ROOT, PROFILE_IN_ENVELOPE], ids=["root", "envelope"])
def test_the_profiles_credits_are_the_balance(body):
    upstream, adapter = answering(body)
    balance = adapter.get_balance()
    assert (balance.amount, balance.currency) == (Decimal("48.25"), "USD")
    (request,) = upstream.requests
    assert request.url.path == f"/api/v1/organizations/profile/{ORG_ID}"


# ravan.md §1.2 (documented) and §2.4 ([INFERRED] purchase refusals): body → error.
ERROR_EXAMPLES = [
    (400, '{"code": 3, "message": "Invalid request parameters", "details": []}', InvalidRequest),
    (
        401,
        '{"code": 16, "message": "API key is missing or invalid", "details": []}',
        AuthenticationFailed,
    ),
    (
        403,
        '{"success": false, "message": "You do not have permission to perform this action", '
        '"error": {"code": "FORBIDDEN", "message": "Insufficient permissions for this resource"}}',
        AuthenticationFailed,
    ),
    (
        404,
        '{"success": false, "message": "No telephony provider configured", '
        '"error": {"code": "NOT_FOUND", "message": "No telephony provider configured"}}',
        NotFound,
    ),
    (
        500,
        '{"success": false, "message": "Something went wrong on our end", "error": {"code": '
        '"INTERNAL_ERROR", "message": "An unexpected error occurred. Please try again later."}}',
        UpstreamUnavailable,
    ),
    (
        502,
        '{"success": false, "message": "Service temporarily unavailable", "error": {"code": '
        '"BAD_GATEWAY", "message": "Unable to reach upstream service. Please try again."}}',
        UpstreamUnavailable,
    ),
    (
        409,
        '{"code": 6, "message": "phone number +13612738809 is no longer available", "details": []}',
        NumberUnavailable,
    ),
    (
        400,
        '{"code": 9, "message": "price mismatch: current price is 1.25", "details": []}',
        PriceChanged,
    ),
    (
        402,
        '{"success": false, "message": "Insufficient credits", "error": {"code": '
        '"INSUFFICIENT_CREDITS", "message": "Available credits 0.50 are below the price 1.15"}}',
        InsufficientFunds,
    ),
    (
        400,
        '{"code": 9, "message": "insufficient credits: available 0.50", "details": []}',
        InsufficientFunds,
    ),
    (
        403,
        '{"success": false, "message": "Region not allowed", "error": {"code": '
        '"REGION_NOT_ALLOWED", "message": "numbers in US are not enabled on this account"}}',
        RegionNotAllowed,
    ),
]


@pytest.mark.parametrize(("status", "body", "expected"), ERROR_EXAMPLES)
def test_each_published_error_maps_to_its_error(status, body, expected):
    _, adapter = answering(body, status)
    with pytest.raises(expected) as error:
        adapter.purchase("+13612738809", quote=example_offer())
    parsed = json.loads(body)
    # §1.2: `error.message` when `error` is an object, else `message`.
    shown = parsed["error"]["message"] if "error" in parsed else parsed["message"]
    assert error.value.message == shown
    assert error.value.status == status


def test_an_error_page_that_is_not_json_still_maps_by_status():
    _, adapter = answering("<html>Bad Gateway</html>", 502)
    with pytest.raises(UpstreamUnavailable):
        adapter.get_balance()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (('"number": "+13612738809", ', ""), "data[0]: number is missing"),
        (('"is_active": true', '"is_active": "yes"'), "data[0]: is_active"),
        (('"price": 1.15', '"price": "about one"'), "data[0]: price"),
        (('"id": "019d2a1b-4c5e-7f8a-9b0c-1d2e3f4a5b6c"', '"id": 7'), "data[0]: id"),
    ],
    ids=["missing-number", "text-boolean", "text-price", "numeric-id"],
)
def test_a_wrong_shape_is_an_unexpected_response_naming_the_field(change, named):
    _, adapter = answering(LIST_EXAMPLE.replace(*change))
    with pytest.raises(UnexpectedResponse, match=named.replace("[", r"\[").replace("]", r"\]")):
        list(adapter.iter_owned_numbers())


def test_a_list_that_is_not_a_list_is_an_unexpected_response():
    _, adapter = answering('{"success": true, "message": "ok", "data": {"numbers": []}}')
    with pytest.raises(UnexpectedResponse, match="data: expected a list"):
        list(adapter.iter_owned_numbers())


def test_a_200_that_says_it_failed_is_an_unexpected_response():
    _, adapter = answering('{"success": false, "message": "nope", "data": []}')
    with pytest.raises(UnexpectedResponse, match="success is false"):
        list(adapter.iter_owned_numbers())


def test_an_excerpt_of_a_bad_answer_never_holds_the_key():
    _, adapter = answering(f'{{"success": true, "data": [{{"api_key": "{API_KEY}"}}]}}')
    with pytest.raises(UnexpectedResponse) as error:
        list(adapter.iter_owned_numbers())
    assert API_KEY not in error.value.excerpt
    assert API_KEY not in str(error.value)
