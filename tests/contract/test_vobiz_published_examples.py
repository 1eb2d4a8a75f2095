"""The Vobiz adapter reading the literal example responses of `shared/providers/vobiz.md`
and seed 002, served by `httpx.MockTransport`: what Vobiz publishes must parse, not only
what the sandbox returns. Each response body below is copied as published, long lines and
all."""

# ruff: noqa: E501

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from numbers.models import PhoneNumber
from portal.models import SyncRun
from portal.providers.base import AccountConfig, OwnedNumber, SearchQuery
from portal.providers.errors import (
    AuthenticationFailed,
    InsufficientFunds,
    NumberUnavailable,
    UnexpectedResponse,
    UpstreamUnavailable,
)
from portal.providers.vobiz.adapter import VobizAdapter
from portal.services.sync import sync_account
from tests.support.canned import CannedUpstream
from tests.support.factories import PhoneNumberFactory, ProviderAccountFactory, ProviderFactory

# A real-looking account of our own, never the examples' placeholder owner (MA_XXXXXXXX): a
# client that takes the placeholder for its own id hides any per-row owner comparison.
AUTH_ID = "MA_K7Q2M9ZP"
TOKEN = "published-example-token"

# vobiz.md §2.1 [DOCS, SDK]
OWNED_LIST = """{"items": [
  {"id": "aabbccdd-1234-5678-90ab-cdef12345678", "account_id": "MA_XXXXXXXX", "e164": "+919876543210",
   "country": "IN", "region": "Karnataka",
   "capabilities": {"voice": true, "sms": false, "mms": false, "fax": false},
   "status": "active", "provider": "", "setup_fee": 100, "monthly_fee": 300, "currency": "INR",
   "application_id": "20577609616603585", "trunk_group_id": null, "voice_enabled": true, "tags": [],
   "purchased_at": "2026-03-25T06:58:38.796024Z", "is_blocked": false,
   "created_at": "2026-03-25T18:30:00Z", "updated_at": "2026-03-25T06:58:54.752187Z",
   "is_trial_number": false, "last_billing_date": "2026-03-25T06:58:38.796024Z",
   "next_billing_date": "2026-04-25T06:58:38.796024Z", "minimum_commitment_months": 0,
   "aadhaar_verification_required": false, "aadhaar_verified": false, "source": "purchased",
   "released_at": null}],
 "page": 1, "per_page": 25, "total": 1}"""

# vobiz.md §2.3 [DOCS]: a US number priced in INR, fees written as floats.
INVENTORY = """{"items": [{"id": "550e8400-e29b-41d4-a716-446655440000", "e164": "+14155551234", "country": "US",
            "region": "CA", "status": "active", "setup_fee": 0.0, "monthly_fee": 1.0, "currency": "INR",
            "created_at": "2025-01-15T10:00:00Z", "updated_at": "2025-01-15T10:00:00Z"}],
 "page": 1, "per_page": 25, "total": 500}"""

# Seed 002, first example (current form): `number` plus a short `items` copy.
PURCHASE_CURRENT = """{
"message": "Number purchased successfully",
"number": {
"id": "aabbccdd-1234-5678-90ab-cdef12345678",
"account_id": "MA_XXXXXXXX",
"e164": "+919876543210",
"country": "IN",
"region": "Karnataka",
"capabilities": {
"voice": true,
"sms": false,
"mms": false,
"fax": false
},
"status": "active",
"provider": "",
"setup_fee": 100,
"monthly_fee": 1,
"currency": "INR",
"voice_enabled": true,
"tags": [],
"purchased_at": "2026-03-25T10:00:00Z",
"is_blocked": false,
"created_at": "2026-03-25T10:00:00Z",
"updated_at": "2026-03-25T10:00:00Z",
"is_trial_number": false,
"minimum_commitment_months": 0,
"aadhaar_verification_required": false,
"aadhaar_verified": false,
"source": "inventory"
},
"items": [
{
"id": "aabbccdd-1234-5678-90ab-cdef12345678",
"account_id": "MA_XXXXXXXX",
"e164": "+919876543210",
"country": "IN",
"region": "Karnataka",
"capabilities": {
"voice": true,
"sms": false,
"mms": false,
"fax": false
},
"status": "active",
"monthly_fee": 1,
"currency": "INR"
}
]
}"""

# Seed 002, second example (older form): `auth_id` owner, floats, USD, no capabilities.
PURCHASE_OLDER = """{
"message": "purchased from inventory",
"number": {
"id": "550e8400-e29b-41d4-a716-446655440000",
"auth_id": "{auth_id}",
"e164": "+919876543210",
"country": "IN",
"region": "MH",
"status": "active",
"provider": "manual",
"setup_fee": 0.0,
"monthly_fee": 1.0,
"currency": "USD",
"purchased_at": "2025-01-15T10:00:00Z",
"created_at": "2025-01-15T10:00:00Z",
"updated_at": "2025-01-15T10:00:00Z"
}
}"""

# Seed 002's error bodies.
NOT_IN_INVENTORY = """{
"error": "not found",
"message": "number not found in inventory"
}"""
PURCHASE_FAILED = """{
"error": "internal server error",
"message": "failed to purchase number from provider"
}"""

# vobiz.md §3, the errors page's generic envelope.
INSUFFICIENT_BALANCE = """{"status": "error", "error": {"code": "INSUFFICIENT_BALANCE", "message": "…", "details": {"required": 1000, "available": 450, "currency": "USD"}}, "timestamp": "2025-10-12T10:30:00.000Z", "requestId": "req_7a8b9c0d1e2f"}"""

# vobiz.md §2.6: a release that is not ours; and the three accepted success forms.
NOT_OWNER = """{"error": "forbidden", "message": "account does not own this number"}"""
RELEASED_OLD = """{"message": "number returned to inventory"}"""
RELEASE_PENDING = """{"status": "pending_release", "message": "…", "cooldown_ends_at": "2026-03-26T10:00:00Z",
 "cancel_url": "/api/v1/account/MA_XXXXXXXX/numbers/%2B919876543210/cancel-release",
 "release_fee": 700.0, "note": "…"}"""

# vobiz.md §2.7 [DOCS]
BALANCE = """{"id": "aabbccdd-1234-5678-90ab-cdef12345678", "account_id": "MA_XXXXXXXX", "currency": "INR",
 "balance": 23906.83, "reserved_funds": 0, "promotional_balance": 0, "promotional_reserved_balance": 0,
 "available_balance": 23906.83, "credit_limit": 1000, "is_postpaid": true, "credit_limit_type": "soft",
 "low_balance_threshold": 50, "status": "active",
 "created_at": "2026-01-19T18:39:15.050543Z", "updated_at": "2026-05-11T06:59:32.802705Z"}"""

# vobiz.md §2.8 [DOCS, SDK]: requested by limit/offset, counted in pages.
TRANSACTIONS = """{"auth_id": "MA_XXXXXX", "total": 125, "page": 1, "per_page": 50, "total_pages": 3,
 "transactions": [
   {"id": "txn_6883ee37-…", "account_id": "MA_XXXXXX", "balance_id": "bal_a84cd3a6-…", "type": "debit",
    "amount": 0.9, "currency": "INR", "description": "Stream session (70s)",
    "reference": "cdr_e565c2de-…", "reference_type": "cdr", "status": "completed",
    "processed_at": "2025-12-08T09:38:06.923988Z", "created_at": "2025-12-08T09:38:06.923988Z",
    "updated_at": "2025-12-08T09:38:06.923988Z"}],
 "summary": {"total_transactions": 125, "total_debit": 150.75, "total_credit": 500.00, "net_amount": 349.25,
             "by_reference_type": [{"reference_type": "cdr", "total_debit": 140.25, "total_credit": 0.00, "count": 110}]}}"""


class Upstream(CannedUpstream):
    """Answers each request with the next queued (status, body), then 200 with no body."""

    adapter_class = VobizAdapter
    config = AccountConfig("https://api.vobiz.ai/api/v1", AUTH_ID, TOKEN, "INR")

    def __init__(self, *responses):
        super().__init__()
        self.responses = list(responses)

    def answer(self, request):
        return self.responses.pop(0) if self.responses else (200, None)


def owned(number="+919876543210") -> OwnedNumber:
    return OwnedNumber(number=number, status="active", currency="INR")


def edited(raw: str, path: tuple, value) -> str:
    """A published body with one field changed (or removed when value is ...)."""
    body = json.loads(raw)
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(body)


# --- owned numbers -------------------------------------------------------------------------


def test_the_published_owned_number():
    upstream = Upstream((200, OWNED_LIST))
    [number] = upstream.adapter().iter_owned_numbers()
    assert number == OwnedNumber(
        number="+919876543210",
        status="active",
        currency="INR",
        upstream_id="aabbccdd-1234-5678-90ab-cdef12345678",
        label="",
        country="IN",
        region="Karnataka",
        number_type="mobile",
        capabilities=frozenset({"voice"}),
        setup_fee=Decimal("100"),
        monthly_fee=Decimal("300"),
        purchased_at=datetime(2026, 3, 25, 6, 58, 38, 796024, tzinfo=UTC),
        released_at=None,
    )
    [request] = upstream.requests
    assert request.method == "GET"
    assert request.url.path == f"/api/v1/Account/{AUTH_ID}/numbers"
    assert dict(request.url.params) == {
        "include_subaccounts": "false",
        "page": "1",
        "per_page": "100",
    }
    assert (request.headers["X-Auth-ID"], request.headers["X-Auth-Token"]) == (AUTH_ID, TOKEN)


def test_every_row_is_kept_whatever_owner_it_names():
    """§2.1: the request is scoped to the account by its path and include_subaccounts=false,
    so a row's owner is not compared with ours: the published example names the
    placeholder MA_XXXXXXXX, older documents name it in `auth_id` (§5.3)."""
    older = edited(
        edited(OWNED_LIST, ("items", 0, "account_id"), ...), ("items", 0, "auth_id"), "MA_XXXXXXXX"
    )
    another = edited(OWNED_LIST, ("items", 0, "account_id"), "SA_YYYYYYYY")
    for body in (OWNED_LIST, older, another):
        numbers = [n.number for n in Upstream((200, body)).adapter().iter_owned_numbers()]
        assert numbers == ["+919876543210"]


@pytest.mark.django_db
def test_a_sync_of_the_published_list_keeps_its_numbers_and_releases_none():
    """A real account fed the published list (owner MA_XXXXXXXX) keeps its number, and the
    next sync does not release it, nor one bought minutes before."""
    provider = ProviderFactory(slug="vobiz")
    account = ProviderAccountFactory(
        provider=provider,
        upstream_account_id=AUTH_ID,
        base_url="https://api.vobiz.ai/api/v1",
        currency="INR",
    )
    bought = PhoneNumberFactory(
        account=account,
        number="+919876543210",
        currency="INR",
        purchased_at=timezone.now() - timedelta(minutes=5),
    )
    PhoneNumber.objects.filter(pk=bought.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5)
    )
    for _ in range(2):
        transport = httpx.MockTransport(Upstream((200, OWNED_LIST)))
        run = sync_account(account, SyncRun.Kind.NUMBERS, transport=transport)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert (run.rows_fetched, run.rows_released) == (1, 0)
    bought.refresh_from_db()
    assert bought.status == PhoneNumber.Status.ACTIVE
    assert bought.upstream_id == "aabbccdd-1234-5678-90ab-cdef12345678"


@pytest.mark.parametrize(
    ("status", "blocked", "expected"),
    [
        ("pending_purchase", False, "pending"),
        ("pending_release", False, "pending"),
        ("blocked", False, "suspended"),
        ("active", True, "suspended"),
        ("released", False, "released"),
    ],
)
def test_every_documented_status(status, blocked, expected):
    body = edited(
        edited(OWNED_LIST, ("items", 0, "status"), status), ("items", 0, "is_blocked"), blocked
    )
    [number] = Upstream((200, body)).adapter().iter_owned_numbers()
    assert number.status == expected


def test_pages_follow_total_not_page_count():
    item = json.loads(OWNED_LIST)["items"][0]
    first = {"items": [item], "page": 1, "per_page": 25, "total": 2}
    second_item = item | {"e164": "+919876543211", "tags": ["support", "blr"]}
    second = {"items": [second_item], "page": 2, "per_page": 25, "total": 2}
    upstream = Upstream((200, json.dumps(first)), (200, json.dumps(second)))
    numbers = list(upstream.adapter().iter_owned_numbers())
    assert [n.number for n in numbers] == ["+919876543210", "+919876543211"]
    assert numbers[1].label == "support, blr"
    assert [r.url.params["page"] for r in upstream.requests] == ["1", "2"]


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("items", 0, "e164"), 919876543210, "e164"),
        (("items", 0, "currency"), ..., "currency is missing"),
        (("items", 0, "monthly_fee"), True, "monthly_fee"),
        (("items", 0, "status"), "frozen", "unknown status"),
        (("items", 0, "capabilities"), ["voice"], "capabilities"),
        (("items", 0, "tags"), [7], "tags"),
        (("total",), ..., "total is missing"),
        (("items",), {"e164": "+919876543210"}, "items"),
    ],
)
def test_a_wrong_shape_is_unexpected_never_a_key_error(path, value, problem):
    adapter = Upstream((200, edited(OWNED_LIST, path, value))).adapter()
    with pytest.raises(UnexpectedResponse, match=problem) as caught:
        list(adapter.iter_owned_numbers())
    assert TOKEN not in caught.value.excerpt


def test_get_number_searches_and_takes_the_exact_match():
    item = json.loads(OWNED_LIST)["items"][0]
    # `search` matches substrings; whatever else comes back, only the exact number counts.
    other = item | {"e164": "+919876543211", "id": "another"}
    body = {"items": [other, item], "page": 1, "per_page": 25, "total": 2}
    upstream = Upstream((200, json.dumps(body)))
    assert upstream.adapter().get_number("+919876543210").upstream_id == item["id"]
    assert upstream.requests[0].url.params["search"] == "+919876543210"
    assert "search=%2B919876543210" in str(upstream.requests[0].url)


# --- inventory and purchase ----------------------------------------------------------------


def test_the_published_inventory_number():
    upstream = Upstream((200, INVENTORY))
    [offer] = upstream.adapter().search_available(SearchQuery(country="US", area="415", limit=1))
    assert (offer.number, offer.currency, offer.country, offer.region) == (
        "+14155551234",
        "INR",
        "US",
        "CA",
    )
    assert (offer.setup_fee, offer.monthly_fee) == (Decimal("0.0"), Decimal("1.0"))
    assert offer.capabilities == frozenset()  # the published item has none
    [request] = upstream.requests
    assert request.url.path == f"/api/v1/Account/{AUTH_ID}/inventory/numbers"
    assert request.url.params["country"] == "US"
    assert request.url.params["search"] == "+1415"


@pytest.mark.parametrize("published", [PURCHASE_CURRENT, PURCHASE_OLDER])
def test_the_published_purchase_responses(published):
    upstream = Upstream((200, published))
    number = upstream.adapter().purchase("+919876543210")
    expected = json.loads(published)["number"]
    assert number.number == "+919876543210"
    assert number.currency == expected["currency"]
    assert number.monthly_fee == Decimal(str(expected["monthly_fee"]))
    assert number.region == expected["region"]
    [request] = upstream.requests
    assert request.method == "POST"
    assert request.url.path == f"/api/v1/Account/{AUTH_ID}/numbers/purchase-from-inventory"
    assert json.loads(request.content) == {"e164": "+919876543210"}


def test_a_purchase_answered_only_in_items():
    only_items = edited(PURCHASE_CURRENT, ("number",), ...)
    number = Upstream((200, only_items)).adapter().purchase("+919876543210")
    assert (number.monthly_fee, number.setup_fee) == (Decimal("1"), None)


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (404, NOT_IN_INVENTORY, NumberUnavailable, "number not found in inventory"),
        (500, PURCHASE_FAILED, UpstreamUnavailable, "failed to purchase number from provider"),
        (402, INSUFFICIENT_BALANCE, InsufficientFunds, "…"),
        (
            401,
            '{"status": "error", "error": {"code": "INVALID_CREDENTIALS", "message": "bad"}}',
            AuthenticationFailed,
            "bad",
        ),
        # §3: the SDK's error model, and a 404 with no message at all.
        (
            404,
            '{"api_id": "a1", "error": "not found", "message": "gone"}',
            NumberUnavailable,
            "gone",
        ),
        (404, '{"error": "not found", "api_id": "a1"}', NumberUnavailable, "not found"),
    ],
)
def test_the_published_purchase_errors(status, body, error, message):
    adapter = Upstream((status, body)).adapter()
    with pytest.raises(error) as refused:
        adapter.purchase("+919876543210")
    assert (refused.value.status, refused.value.message) == (status, message)


# --- release -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"), [(204, None), (200, RELEASED_OLD), (200, RELEASE_PENDING)]
)
def test_every_published_release_answer_is_a_release(status, body):
    upstream = Upstream((status, body))
    assert upstream.adapter().release(owned()) is None
    [request] = upstream.requests
    assert request.method == "DELETE"
    assert request.url.raw_path == f"/api/v1/Account/{AUTH_ID}/numbers/%2B919876543210".encode()


def test_releasing_a_number_of_another_account():
    with pytest.raises(NumberUnavailable, match="does not own"):
        Upstream((403, NOT_OWNER)).adapter().release(owned())


# --- billing -------------------------------------------------------------------------------


def test_the_published_balance():
    upstream = Upstream((200, BALANCE))
    balance = upstream.adapter().get_balance()
    assert (balance.amount, balance.currency, balance.credit_limit) == (
        Decimal("23906.83"),
        "INR",
        Decimal("1000"),
    )
    assert upstream.requests[0].url.path == f"/api/v1/Account/{AUTH_ID}/balance/INR"


def test_a_legacy_balance_as_a_decimal_string():
    # §2.7 [GO-LEGACY]: {"api_id", "balance": "<string>", "currency"}; cash_credits style.
    body = '{"api_id": "x", "balance": "1300.00000", "currency": "INR"}'
    balance = Upstream((200, body)).adapter().get_balance()
    assert (balance.amount, balance.credit_limit) == (Decimal("1300"), None)


def test_the_published_transactions():
    end = '{"auth_id": "MA_XXXXXX", "total": 125, "page": 2, "per_page": 100, "transactions": []}'
    upstream = Upstream((200, TRANSACTIONS), (200, end))
    [transaction] = upstream.adapter().iter_transactions()
    assert transaction.upstream_id == "txn_6883ee37-…"
    assert (transaction.kind, transaction.amount, transaction.currency) == (
        "usage",
        Decimal("0.9"),
        "INR",
    )
    assert transaction.occurred_at == datetime(2025, 12, 8, 9, 38, 6, 923988, tzinfo=UTC)
    assert [dict(r.url.params) for r in upstream.requests] == [
        {"limit": "100", "offset": "0"},
        {"limit": "100", "offset": "1"},
    ]


def test_the_older_transaction_form():
    # §2.8 [DOCS-OLD]: count/limit/offset, no total, no reference_type, "cdr:<uuid>".
    row = {
        "id": "6883ee37",
        "type": "debit",
        "amount": 0.9,
        "currency": "INR",
        "description": "Outbound call",
        "reference": "cdr:e565c2de",
        "created_at": "2025-12-08T09:38:06Z",
    }
    page = {"account_id": AUTH_ID, "count": 1, "limit": 100, "offset": 0, "transactions": [row]}
    credit = row | {"id": "77", "type": "credit", "amount": "500.00", "reference": "pay:1"}
    upstream = Upstream(
        (200, json.dumps(page)),
        (200, json.dumps(page | {"offset": 1, "transactions": [credit]})),
        (200, json.dumps(page | {"count": 0, "offset": 2, "transactions": []})),
    )
    kinds = [(t.kind, t.amount) for t in upstream.adapter().iter_transactions()]
    assert kinds == [("usage", Decimal("0.9")), ("credit", Decimal("500.00"))]
    assert len(upstream.requests) == 3  # the last, empty page ends the ledger
