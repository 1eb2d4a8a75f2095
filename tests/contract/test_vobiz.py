"""The Vobiz adapter against the Vobiz sandbox over real HTTP on loopback.

Every adapter method, each documented refusal, paging edges, exact money, faults, and the
sandbox's own documented answers to a client that is not the adapter (curl-style checks).
"""

import inspect
import math
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from portal.providers import errors
from portal.providers.base import SearchQuery
from portal.providers.capabilities import Capability
from portal.providers.sandbox import build_state
from portal.providers.sandbox.state import CatalogEntry, SandboxAccount
from portal.providers.vobiz.adapter import VobizAdapter
from portal.providers.vobiz.simulator import VobizSandbox
from tests.support.sandbox import malformed

SLUG = "vobiz"
PAGE_SIZE = 100
# The sandbox's one-time debits are setup fees, which Vobiz books as `did_rental` like the
# monthly rental: a one-time debit all the same, not a recurring charge (issue 17).
STATE_KINDS = {"credit": "credit", "usage": "usage", "recurring": "recurring", "debit": "debit"}


@pytest.fixture
def vobiz(adapter):
    return adapter


def add_account(sandbox, account_id, *, numbers=0, catalog=VobizSandbox.catalog, **fields):
    """A further sandbox account and an adapter for it."""
    spec = SandboxAccount(SLUG, account_id, f"token-{account_id}", currency="INR", **fields)
    sandbox.state.add_account(spec, numbers=numbers, catalog=catalog)
    return sandbox.adapter(SLUG, upstream_account_id=account_id, secret=spec.secret)


def offers(sandbox, **filters):
    return sandbox.state.search_inventory(SLUG, country="IN", **filters)


def fault(adapter, value):
    adapter.client.headers["X-Sandbox-Fault"] = value


def api(sandbox, path):
    return f"{sandbox.url}/vobiz/api/v1{path}"


def auth_headers(account):
    return {"X-Auth-ID": account["account_id"], "X-Auth-Token": account["secret"]}


# --- capabilities --------------------------------------------------------------------------


def test_declares_what_vobiz_offers():
    assert VobizAdapter.capabilities == {
        Capability.LIST_NUMBERS,
        Capability.GET_NUMBER,
        Capability.SEARCH_NUMBERS,
        Capability.PURCHASE,
        Capability.RELEASE,
        Capability.BALANCE,
        Capability.TRANSACTIONS,
        Capability.CALL_RECORDS,
    }


@pytest.mark.parametrize(
    ("call", "capability"),
    [
        (lambda adapter, owned: adapter.update_label(owned, "Sales"), Capability.UPDATE_LABEL),
        (lambda adapter, owned: adapter.list_service_plans(), Capability.SERVICE_PLANS),
    ],
)
def test_what_vobiz_lacks_is_not_supported(vobiz, call, capability):
    owned = next(vobiz.iter_owned_numbers())
    with pytest.raises(errors.NotSupported, match="not supported by Vobiz") as refused:
        call(vobiz, owned)
    assert refused.value.capability == capability


def test_client_has_timeouts_user_agent_and_both_auth_headers(vobiz, account):
    timeout = vobiz.client.timeout
    assert (timeout.connect, timeout.read) == (5.0, 20.0)
    assert vobiz.client.headers["User-Agent"].startswith("number-portal/")
    assert vobiz.client.headers["X-Auth-ID"] == account["account_id"]
    assert vobiz.client.headers["X-Auth-Token"] == account["secret"]


# --- owned numbers -------------------------------------------------------------------------


def test_lists_every_owned_number_with_its_fees_and_type(sandbox, vobiz, account):
    listing = vobiz.iter_owned_numbers()
    assert inspect.isgenerator(listing)
    numbers = {owned.number: owned for owned in listing}
    records = {record["e164"]: record for record in sandbox.state.owned_numbers(account)}
    assert numbers.keys() == records.keys()
    for e164, owned in numbers.items():
        record = records[e164]
        assert owned.upstream_id == record["id"]
        assert owned.status == "active"
        assert (owned.currency, owned.country) == ("INR", "IN")
        assert owned.setup_fee == Decimal(record["setup_fee"])
        assert owned.monthly_fee == Decimal(record["monthly_fee"])
        assert owned.number_type == record["type"]
        assert owned.capabilities == frozenset(record["capabilities"])
        assert owned.label == record["label"]
        assert owned.purchased_at.isoformat().startswith(record["purchased_at"][:19])


@pytest.mark.parametrize("count", [0, 1, PAGE_SIZE, PAGE_SIZE + 1])
def test_pages_through_every_number_exactly_once(sandbox, upstream_log, count):
    adapter = add_account(sandbox, f"MA_PAGE{count:04d}", numbers=count)
    listed = Counter(owned.number for owned in adapter.iter_owned_numbers())
    expected = {r["e164"] for r in sandbox.state.owned_numbers(adapter_account(sandbox, adapter))}
    assert set(listed) == expected and len(expected) == count
    assert set(listed.values()) <= {1}
    assert len(upstream_log.records) == max(1, math.ceil(count / PAGE_SIZE))


def adapter_account(sandbox, adapter):
    return sandbox.state.account(SLUG, adapter.account.upstream_account_id)


def test_pages_through_ten_thousand_numbers(sandbox):
    adapter = add_account(sandbox, "MA_TENKAY", numbers=10_000)
    listed = Counter(owned.number for owned in adapter.iter_owned_numbers())
    assert len(listed) == 10_000
    assert set(listed.values()) == {1}


def test_a_short_page_loses_no_number(sandbox):
    adapter = add_account(sandbox, "MA_SHORTPG", numbers=250)
    fault(adapter, "short-page")
    listed = Counter(owned.number for owned in adapter.iter_owned_numbers())
    assert len(listed) == 250
    assert set(listed.values()) == {1}


def test_get_number_takes_the_exact_match(sandbox, vobiz, account):
    record = sandbox.state.owned_numbers(account)[3]
    owned = vobiz.get_number(record["e164"])
    assert (owned.number, owned.upstream_id) == (record["e164"], record["id"])


def test_get_number_not_on_the_account(vobiz, sandbox):
    stranger = offers(sandbox)[0]["e164"]
    with pytest.raises(errors.NotFound, match="not on this Vobiz account"):
        vobiz.get_number(stranger)


def test_a_non_ascii_tag_round_trips_as_the_label(sandbox, vobiz, account):
    label = "Café Zürich \u2013 東京"  # an en dash, spelt out for the linter
    e164 = sandbox.state.owned_numbers(account)[0]["e164"]
    response = httpx.patch(
        api(sandbox, f"/Account/{account['account_id']}/numbers/{e164.replace('+', '%2B')}"),
        json={"tags": [label]},
        headers=auth_headers(account),
    )
    assert response.status_code == 200 and response.json()["tags"] == [label]
    assert sandbox.state.owned_number(account, e164)["label"] == label
    assert vobiz.get_number(e164).label == label


# --- inventory -----------------------------------------------------------------------------


def test_search_offers_inventory_with_exact_prices(sandbox, vobiz):
    found = vobiz.search_available(SearchQuery(country="IN", limit=500))
    records = {record["e164"]: record for record in offers(sandbox)}
    assert {offer.number for offer in found} == records.keys()
    for offer in found:
        record = records[offer.number]
        assert offer.currency == "INR"
        assert (offer.setup_fee, offer.monthly_fee) == (
            Decimal(record["setup_fee"]),
            Decimal(record["monthly_fee"]),
        )
        assert offer.number_type == record["type"]
    assert not set(sandbox.state.data["taken"][SLUG]) & records.keys()


@pytest.mark.parametrize(
    ("query", "check"),
    [
        (SearchQuery(country="IN", area="80"), lambda o: o.number.startswith("+9180")),
        (SearchQuery(country="IN", area="maharashtra"), lambda o: o.region == "Maharashtra"),
        (SearchQuery(country="IN", number_type="toll_free"), lambda o: o.number[:7] == "+911800"),
        (
            SearchQuery(country="IN", capabilities=frozenset({"sms"})),
            lambda o: "sms" in o.capabilities,
        ),
        (SearchQuery(country="IN", contains="1800"), lambda o: "1800" in o.number),
    ],
)
def test_search_filters(vobiz, query, check):
    found = vobiz.search_available(query)
    assert found and all(check(offer) for offer in found)


def test_search_respects_the_limit_and_an_empty_country(vobiz):
    assert len(vobiz.search_available(SearchQuery(country="IN", limit=3))) == 3
    assert vobiz.search_available(SearchQuery(country="US")) == []


# --- purchase and release ------------------------------------------------------------------


def test_purchase_owns_debits_and_records(sandbox, vobiz, account):
    offer = offers(sandbox, contains="+919")[0]
    charge = Decimal(offer["setup_fee"]) + Decimal(offer["monthly_fee"])
    before = vobiz.get_balance().amount
    started = datetime.now().astimezone() - timedelta(seconds=1)

    owned = vobiz.purchase(offer["e164"], label="ignored upstream")

    assert (owned.number, owned.status, owned.number_type) == (offer["e164"], "active", "mobile")
    assert owned.monthly_fee == Decimal(offer["monthly_fee"])
    assert offer["e164"] in {n.number for n in vobiz.iter_owned_numbers()}
    assert offer["e164"] not in {o.number for o in vobiz.search_available(SearchQuery("IN"))}
    assert vobiz.get_balance().amount == before - charge
    recent = list(vobiz.iter_transactions(since=started))
    assert sorted(t.amount for t in recent) == sorted(
        Decimal(offer[fee]) for fee in ("setup_fee", "monthly_fee")
    )
    # The setup fee once, the first month as the rental that recurs.
    assert {(t.kind, t.amount, t.number, t.currency) for t in recent} == {
        ("debit", Decimal(offer["setup_fee"]), offer["e164"], "INR"),
        ("recurring", Decimal(offer["monthly_fee"]), offer["e164"], "INR"),
    }
    assert sandbox.state.purchase_count(account) == 1


def test_purchase_of_a_taken_number_is_unavailable(sandbox, vobiz, account):
    taken = sandbox.state.data["taken"][SLUG][0]
    with pytest.raises(errors.NumberUnavailable, match="not found in inventory") as refused:
        vobiz.purchase(taken)
    assert refused.value.status == 404
    assert sandbox.state.purchase_count(account) == 0


def test_buying_the_same_number_twice(sandbox, vobiz, account):
    e164 = offers(sandbox)[0]["e164"]
    vobiz.purchase(e164)
    with pytest.raises(errors.NumberUnavailable):
        vobiz.purchase(e164)
    assert sandbox.state.purchase_count(account) == 1


def test_purchase_without_enough_balance(sandbox, vobiz, account):
    offer = offers(sandbox)[0]
    sandbox.state.set_balance(account, "10")
    with pytest.raises(errors.InsufficientFunds, match="Insufficient balance") as refused:
        vobiz.purchase(offer["e164"])
    assert (refused.value.status, refused.value.code) == (402, "INSUFFICIENT_BALANCE")
    assert offer["e164"] in {record["e164"] for record in offers(sandbox)}
    assert sandbox.state.balance(account) == Decimal("10")


def test_insufficient_balance_as_the_number_pages_answer_it(sandbox, vobiz, account):
    # §5.6: some pages document a failed debit as a plain 500; nothing is assumed bought.
    sandbox.state.set_balance(account, "10")
    vobiz.client.headers["X-Sandbox-Vobiz-Insufficient-Balance"] = "500"
    with pytest.raises(errors.UpstreamUnavailable, match="failed to purchase number") as refused:
        vobiz.purchase(offers(sandbox)[0]["e164"])
    assert refused.value.code == "internal server error"
    assert sandbox.state.purchase_count(account) == 0


def test_purchase_outside_the_allowed_countries(sandbox):
    adapter = add_account(sandbox, "SA_USONLY1", allowed_countries=["US"])
    with pytest.raises(errors.RegionNotAllowed, match="not enabled"):
        adapter.purchase(offers(sandbox)[0]["e164"])


def test_purchase_of_a_malformed_number(vobiz):
    with pytest.raises(errors.InvalidNumber):
        vobiz.purchase("+91-80-CALL-NOW")


def test_release_returns_the_number_to_inventory(sandbox, vobiz, account):
    owned = vobiz.get_number(sandbox.state.owned_numbers(account)[0]["e164"])
    vobiz.release(owned)
    assert owned.number not in {n.number for n in vobiz.iter_owned_numbers()}
    assert owned.number in {record["e164"] for record in offers(sandbox)}
    with pytest.raises(errors.NumberUnavailable, match="does not own") as again:
        vobiz.release(owned)
    assert again.value.status == 403


# --- billing -------------------------------------------------------------------------------


def test_balance(sandbox, vobiz, account):
    balance = vobiz.get_balance()
    assert (balance.amount, balance.currency) == (sandbox.state.balance(account), "INR")
    assert balance.credit_limit == Decimal(0)


def test_balance_in_a_currency_the_account_does_not_hold(sandbox):
    with sandbox.adapter(SLUG, currency="USD") as adapter, pytest.raises(errors.NotFound):
        adapter.get_balance()


def test_transactions_every_row_once_with_exact_amounts(sandbox, vobiz, account):
    ledger = {row["id"]: row for row in sandbox.state.transactions(account)}
    listed = list(vobiz.iter_transactions())
    assert Counter(t.upstream_id for t in listed) == Counter(ledger.keys())
    for transaction in listed:
        row = ledger[transaction.upstream_id]
        assert transaction.amount == Decimal(row["amount"])
        assert transaction.kind == STATE_KINDS[row["kind"]]
        assert transaction.currency == "INR"
        assert transaction.number == row["e164"]
    assert any(t.amount.as_tuple().exponent == -4 for t in listed)  # usage to 1/10,000


def test_transactions_since(sandbox, vobiz, account):
    rows = sandbox.state.transactions(account)
    middle = datetime.fromisoformat(rows[len(rows) // 2]["created_at"])
    listed = list(vobiz.iter_transactions(since=middle))
    assert listed and all(t.occurred_at >= middle for t in listed)
    assert len(listed) == sum(
        1 for row in rows if datetime.fromisoformat(row["created_at"]) >= middle
    )


class TestALongLedger:
    @pytest.fixture
    def sandbox_state(self):
        return build_state(numbers=3, transactions=250, inventory=2)

    def test_every_row_once_in_pages(self, vobiz, sandbox, account, upstream_log):
        listed = Counter(t.upstream_id for t in vobiz.iter_transactions())
        assert listed == Counter(row["id"] for row in sandbox.state.transactions(account))
        assert len(upstream_log.records) == 3

    def test_every_row_once_across_short_pages(self, vobiz, sandbox, account):
        fault(vobiz, "short-page")
        listed = Counter(t.upstream_id for t in vobiz.iter_transactions())
        assert listed == Counter(row["id"] for row in sandbox.state.transactions(account))

    def test_every_documented_reference_type_is_served(self, sandbox, account):
        response = httpx.get(
            api(sandbox, f"/Account/{account['account_id']}/transactions"),
            params={"limit": 100, "offset": 100},
            headers=auth_headers(account),
        )
        body = response.json()
        assert (body["total"], body["page"], body["per_page"], body["total_pages"]) == (
            250,
            2,
            100,
            3,
        )
        groups = {group["reference_type"] for group in body["summary"]["by_reference_type"]}
        assert groups == {"cdr", "did_rental", "payment", "refund", "manual_adjustment"}
        assert {row["type"] for row in body["transactions"]} == {"debit", "credit"}


def test_amounts_stay_exact_decimals(sandbox):
    catalog = (CatalogEntry("IN", "Karnataka", "+91802", 7, "local", "2.50", "0.0085"),)
    adapter = add_account(sandbox, "MA_EXACT01", numbers=2, catalog=catalog)
    for owned in adapter.iter_owned_numbers():
        assert str(owned.monthly_fee) == "0.0085"
        assert owned.setup_fee == Decimal("2.50")


# --- faults --------------------------------------------------------------------------------


def test_rate_limited_with_retry_after(sandbox, vobiz, account):
    fault(vobiz, "429")
    with pytest.raises(errors.RateLimited) as limited:
        list(vobiz.iter_owned_numbers())
    assert limited.value.retry_after == 1
    with pytest.raises(errors.RateLimited):
        vobiz.purchase(offers(sandbox)[0]["e164"])
    assert sandbox.state.purchase_count(account) == 0


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors_are_upstream_unavailable(vobiz, status):
    fault(vobiz, status)
    with pytest.raises(errors.UpstreamUnavailable) as failed:
        vobiz.get_balance()
    assert failed.value.status == int(status)


def test_a_dropped_purchase_is_ambiguous_and_applied_once(sandbox, vobiz, account):
    e164 = offers(sandbox)[0]["e164"]
    fault(vobiz, "drop-after-apply")
    with pytest.raises(errors.AmbiguousResult):
        vobiz.purchase(e164)
    assert sandbox.state.purchase_count(account) == 1
    del vobiz.client.headers["X-Sandbox-Fault"]
    assert vobiz.get_number(e164).status == "active"  # reconciled by reading


def test_a_dropped_read_is_unavailable(vobiz):
    fault(vobiz, "drop-after-apply")
    with pytest.raises(errors.UpstreamUnavailable):
        vobiz.get_balance()


@pytest.mark.parametrize(
    "call",
    [
        lambda adapter: list(adapter.iter_owned_numbers()),
        lambda adapter: adapter.get_balance(),
        lambda adapter: list(adapter.iter_transactions()),
    ],
)
def test_malformed_json_is_unexpected(vobiz, call):
    assert "not JSON" in str(malformed(vobiz, call))


# --- authentication and logs ---------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda adapter: list(adapter.iter_owned_numbers()),
        lambda adapter: adapter.search_available(SearchQuery("IN")),
        lambda adapter: adapter.purchase("+918022223333"),
        lambda adapter: adapter.get_balance(),
        lambda adapter: list(adapter.iter_transactions()),
    ],
)
def test_a_wrong_token_fails_authentication(sandbox, call):
    failed = sandbox.refusal(SLUG, call, secret="not-the-token")
    assert (failed.status, failed.code) == (401, "INVALID_CREDENTIALS")


def test_no_credential_in_the_logs(sandbox, vobiz, account, upstream_log):
    list(vobiz.iter_owned_numbers())
    vobiz.search_available(SearchQuery("IN", limit=2))
    vobiz.purchase(offers(sandbox)[0]["e164"])
    vobiz.get_balance()
    list(vobiz.iter_transactions())
    with pytest.raises(errors.NumberUnavailable):
        vobiz.purchase(sandbox.state.data["taken"][SLUG][0])
    with (
        sandbox.adapter(SLUG, secret="wrong-secret-xyz") as stranger,
        pytest.raises(errors.AuthenticationFailed),
    ):
        stranger.get_balance()
    lines = [record.getMessage() for record in upstream_log.records]
    assert len(lines) >= 6
    assert all(line.startswith("upstream provider=vobiz method=") for line in lines)
    for secret in (account["secret"], "wrong-secret-xyz"):
        assert not any(secret in line for line in lines)
    assert any("status=404" in line for line in lines)


# --- the sandbox as any client sees it ------------------------------------------------------


def test_without_credentials_the_documented_401(sandbox, account):
    response = httpx.get(api(sandbox, f"/Account/{account['account_id']}/numbers"))
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "INVALID_CREDENTIALS"
    assert {"timestamp", "requestId"} <= body.keys()


def test_another_accounts_path_is_forbidden(sandbox, account):
    response = httpx.get(
        api(sandbox, "/Account/MA_SOMEONE1/numbers"), headers=auth_headers(account)
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"


def test_documented_shapes_in_either_path_casing(sandbox, account):
    for casing in ("Account", "account"):
        response = httpx.get(
            api(sandbox, f"/{casing}/{account['account_id']}/numbers"),
            params={"per_page": 5},
            headers=auth_headers(account),
        )
        body = response.json()
        assert response.status_code == 200
        assert body.keys() == {"items", "page", "per_page", "total"}
        assert (body["page"], body["per_page"], len(body["items"])) == (1, 5, 5)
    balance = httpx.get(
        api(sandbox, f"/account/{account['account_id']}/balance/INR"), headers=auth_headers(account)
    ).json()
    assert {"balance", "available_balance", "currency", "credit_limit_type"} <= balance.keys()


def test_the_owned_list_also_pages_by_limit_and_offset(sandbox, account):
    response = httpx.get(
        api(sandbox, f"/Account/{account['account_id']}/numbers"),
        params={"limit": 4, "offset": 8},
        headers=auth_headers(account),
    )
    body = response.json()
    expected = [record["e164"] for record in sandbox.state.owned_numbers(account)[8:12]]
    assert [item["e164"] for item in body["items"]] == expected
    assert (body["page"], body["per_page"]) == (3, 4)


def test_seed_purchase_request_and_release_without_the_plus(sandbox, account):
    e164 = offers(sandbox)[0]["e164"]
    bought = httpx.post(
        api(sandbox, f"/account/{account['account_id']}/numbers/purchase-from-inventory"),
        json={"e164": e164},
        headers=auth_headers(account),
    )
    assert bought.status_code == 200
    body = bought.json()
    assert body["message"] == "Number purchased successfully"
    assert body["number"]["e164"] == body["items"][0]["e164"] == e164
    assert body["number"]["source"] == "inventory"
    released = httpx.delete(
        api(sandbox, f"/Account/{account['account_id']}/numbers/{e164[1:]}"),
        headers=auth_headers(account),
    )
    assert (released.status_code, released.content) == (204, b"")


def test_a_bearer_token_is_accepted(sandbox, account):
    response = httpx.get(
        api(sandbox, f"/Account/{account['account_id']}/balance/INR"),
        headers={"Authorization": f"Bearer {account['secret']}"},
    )
    assert response.status_code == 200


def test_one_number_and_the_inventory_as_served(sandbox, account):
    e164 = sandbox.state.owned_numbers(account)[0]["e164"]
    numbers = api(sandbox, f"/Account/{account['account_id']}/numbers")
    one = httpx.get(f"{numbers}/{e164.replace('+', '%2B')}", headers=auth_headers(account))
    assert (one.status_code, one.json()["e164"]) == (200, e164)
    missing = httpx.get(f"{numbers}/%2B918000000000", headers=auth_headers(account))
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "not found", "message": "number not found"},
    )
    inventory = httpx.get(
        api(sandbox, f"/Account/{account['account_id']}/inventory/numbers"),
        params=[("country", "IN"), ("exclude", "91802,+91222"), ("exclude", "911800")],
        headers=auth_headers(account),
    ).json()
    assert inventory["total"] == len(offers(sandbox, contains="+919"))
    assert all(item["e164"].startswith("+919") for item in inventory["items"])
