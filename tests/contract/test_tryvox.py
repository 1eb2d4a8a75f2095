"""TryVox adapter against the sandbox over real HTTP on loopback (tryvox.md)."""

import time
import types
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from portal.providers import errors
from portal.providers.base import OwnedNumber, SearchQuery
from portal.providers.capabilities import Capability
from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.server import SandboxThread
from portal.providers.sandbox.state import SandboxAccount, iso
from portal.providers.tryvox.adapter import TryVoxAdapter
from portal.providers.tryvox.simulator import TryVoxSandbox
from tests.support.sandbox import malformed

SLUG = "tryvox"
UNAUTHORIZED = {"error": {"code": "UNAUTHORIZED", "message": "Invalid or missing API key"}}


@pytest.fixture
def raw(sandbox, account):
    """A plain HTTP client on the TryVox API root, authenticated as the demo account."""
    config = sandbox.config(SLUG)
    with httpx.Client(
        base_url=f"{config.base_url}/account/{account['account_id']}",
        headers={"Authorization": f"Bearer {config.secret}"},
    ) as client:
        yield client


def offer(sandbox, **filters):
    """A number for sale in the sandbox (a record of the state)."""
    return sandbox.state.search_inventory(SLUG, **filters)[0]


@pytest.fixture
def account_with(sandbox):
    """`account_with(numbers, name, **fields)`: a new TryVox account holding `numbers`
    numbers, and an adapter for it (closed after the test)."""
    adapters = []

    def make(numbers, name, **fields):
        spec = SandboxAccount(SLUG, f"acc_{name}", f"tvx_sk_test_{name}", **fields)
        record = sandbox.state.add_account(spec, numbers=numbers, catalog=TryVoxSandbox.catalog)
        config = sandbox.config(SLUG, upstream_account_id=spec.account_id, secret=spec.secret)
        adapters.append(TryVoxAdapter(config))
        return record, adapters[-1]

    yield make
    for adapter in adapters:
        adapter.close()


def calls_to(log, path_end):
    """The logged upstream calls whose path ends with `path_end`."""
    paths = (record.getMessage().split(" path=")[1].split(" ")[0] for record in log.records)
    return [path for path in paths if path.endswith(path_end)]


# --- capabilities -----------------------------------------------------------------------------


def test_declares_what_tryvox_offers_and_nothing_else():
    # Stated as what it lacks, the three operations refused below.
    lacks = {Capability.UPDATE_LABEL, Capability.TRANSACTIONS, Capability.SERVICE_PLANS}
    assert TryVoxAdapter.capabilities == set(Capability) - lacks


@pytest.mark.parametrize(
    ("capability", "call"),
    [
        (
            Capability.UPDATE_LABEL,
            lambda a: a.update_label(OwnedNumber("+14155550100", "active", "USD"), "x"),
        ),
        (Capability.TRANSACTIONS, lambda a: a.iter_transactions()),
        (Capability.SERVICE_PLANS, lambda a: a.list_service_plans()),
    ],
)
def test_operations_tryvox_lacks_say_so(adapter, capability, call):
    with pytest.raises(errors.NotSupported, match="not supported by TryVox") as refused:
        call(adapter)
    assert refused.value.capability is capability


# --- owned numbers ----------------------------------------------------------------------------


def test_lists_every_owned_number_with_its_terms(sandbox, adapter, account):
    expected = {r["e164"]: r for r in sandbox.state.owned_numbers(account)}
    numbers = list(adapter.iter_owned_numbers())
    assert sorted(n.number for n in numbers) == sorted(expected)
    for number in numbers:
        record = expected[number.number]
        assert number.status == "active" and number.currency == "USD"
        assert number.upstream_id == ""  # tryvox.md §2.1: no id, E.164 is the key
        assert number.country == record["country"] and number.number_type == record["type"]
        assert number.monthly_fee == Decimal(record["monthly_fee"])
        assert number.setup_fee == Decimal(record["setup_fee"])
        assert number.capabilities == frozenset(record["capabilities"])
        assert iso(number.purchased_at) == record["purchased_at"][:19] + "Z"


def test_listing_is_a_lazy_generator(sandbox, account_with, upstream_log):
    _, adapter = account_with(250, "lazy")
    numbers = adapter.iter_owned_numbers()
    assert isinstance(numbers, types.GeneratorType)
    next(numbers)
    assert len(calls_to(upstream_log, "/numbers")) == 1  # one page fetched, not all three
    assert len(list(numbers)) == 249


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (1, 1), (100, 1), (101, 2)])
def test_pagination_edges(sandbox, account_with, upstream_log, count, pages):
    record, adapter = account_with(count, f"edge{count}")
    numbers = [n.number for n in adapter.iter_owned_numbers()]
    assert len(numbers) == len(set(numbers)) == count
    assert set(numbers) == {r["e164"] for r in sandbox.state.owned_numbers(record)}
    assert len(calls_to(upstream_log, "/numbers")) == pages


def test_ten_thousand_numbers_each_exactly_once(sandbox, account_with):
    record, adapter = account_with(10_000, "big")
    started = time.monotonic()
    numbers = [n.number for n in adapter.iter_owned_numbers()]
    assert time.monotonic() - started < 10
    assert len(numbers) == len(set(numbers)) == 10_000
    assert set(numbers) == {r["e164"] for r in sandbox.state.owned_numbers(record)}


def test_a_short_page_does_not_end_the_listing(sandbox, account_with):
    # Each page holds one item fewer than it claims; the adapter must still read all three.
    _, adapter = account_with(250, "short")
    adapter.client.headers["X-Sandbox-Fault"] = "short-page"
    assert len(list(adapter.iter_owned_numbers())) == 247


def test_get_one_number_by_its_e164(sandbox, adapter, account, upstream_log):
    record = sandbox.state.owned_numbers(account)[0]
    number = adapter.get_number(record["e164"])
    assert number.number == record["e164"] and number.status == "active"
    assert number.monthly_fee == Decimal(record["monthly_fee"])
    # tryvox.md §2: the `+` is written literally in the path.
    assert f"/numbers/{record['e164']} " in upstream_log.records[-1].getMessage()


def test_get_a_number_not_on_the_account(adapter):
    with pytest.raises(errors.NotFound) as missing:
        adapter.get_number("+14155550000")
    assert (missing.value.status, missing.value.code) == (404, "NOT_FOUND")


# --- inventory --------------------------------------------------------------------------------


def test_search_by_country_with_exact_usd_prices(adapter):
    found = adapter.search_available(SearchQuery(country="IN", limit=5))
    assert len(found) == 5
    for number in found:
        assert number.country == "IN" and number.region == "Maharashtra"
        assert number.number.startswith("+9198") and number.currency == "USD"
        assert number.monthly_fee == Decimal("2.50") and number.setup_fee == Decimal("0")


def test_search_toll_free(adapter):
    found = adapter.search_available(SearchQuery(country="US", number_type="toll_free"))
    assert found and all(n.number_type == "toll_free" for n in found)
    assert {(n.setup_fee, n.monthly_fee) for n in found} == {(Decimal("1.00"), Decimal("2.00"))}


def test_search_by_area_code_region_digits_and_capabilities(sandbox, adapter):
    by_area = adapter.search_available(SearchQuery(country="US", area="415"))
    assert by_area and all(n.number.startswith("+1415") for n in by_area)
    by_region = adapter.search_available(SearchQuery(country="IN", area="Maharashtra"))
    assert by_region and all(n.region == "Maharashtra" for n in by_region)
    digits = offer(sandbox, country="US", number_type="local")["e164"][-4:]
    assert all(digits in n.number for n in adapter.search_available(SearchQuery(contains=digits)))
    sms = adapter.search_available(SearchQuery(country="US", capabilities=frozenset({"sms"})))
    assert sms and all(n.number_type == "local" for n in sms)  # toll-free is voice only


def test_search_honours_the_limit(adapter, upstream_log):
    assert adapter.search_available(SearchQuery(country="US", limit=0)) == []
    assert len(adapter.search_available(SearchQuery(country="US", limit=3))) == 3
    assert len(calls_to(upstream_log, "/inventory/numbers")) == 1


def test_amounts_stay_exact_decimals(sandbox, adapter):
    number = offer(sandbox, country="US", number_type="local")
    sandbox.state.data["inventory"][SLUG][number["e164"]]["monthly_fee"] = "0.0085"
    found = adapter.search_available(SearchQuery(country="US", contains=number["e164"][1:]))
    assert [str(n.monthly_fee) for n in found] == ["0.0085"]
    assert isinstance(found[0].monthly_fee, Decimal)


# --- purchase ---------------------------------------------------------------------------------


def test_purchase_moves_the_number_and_charges_the_balance(sandbox, adapter, account):
    quote = adapter.search_available(SearchQuery(country="US", number_type="toll_free"))[0]
    before = adapter.get_balance()
    ledger_before = len(sandbox.state.transactions(account))
    bought = adapter.purchase(quote.number, quote=quote)
    assert bought.number == quote.number and bought.number_type == "toll_free"
    assert bought.status == "active" and bought.purchased_at is not None
    assert quote.number in {n.number for n in adapter.iter_owned_numbers()}
    assert quote.number not in {n.number for n in adapter.search_available(SearchQuery())}
    after = adapter.get_balance()
    assert after.currency == "USD"
    assert before.amount - after.amount == Decimal("3.00")  # setup 1.00 + monthly 2.00
    new_rows = sandbox.state.transactions(account)[ledger_before:]
    assert sorted(Decimal(row["amount"]) for row in new_rows) == [Decimal("1"), Decimal("2")]
    assert {row["e164"] for row in new_rows} == {quote.number}
    assert sandbox.state.purchase_count(account) == 1


def test_purchase_without_a_quote_derives_the_country(sandbox, adapter, account):
    number = offer(sandbox, country="IN")["e164"]
    assert adapter.purchase(number).country == "IN"
    assert sandbox.state.owned_number(account, number)["status"] == "active"


def test_a_taken_number_is_unavailable(sandbox, adapter):
    taken = sandbox.state.data["taken"][SLUG][0]
    with pytest.raises(errors.NumberUnavailable) as refused:
        adapter.purchase(taken)
    assert (refused.value.status, refused.value.code) == (409, "NUMBER_UNAVAILABLE")


def test_a_number_never_stocked_is_unavailable(adapter):
    with pytest.raises(errors.NumberUnavailable) as refused:
        adapter.purchase("+14155550000")
    assert (refused.value.status, refused.value.code) == (404, "NOT_FOUND")
    assert "available inventory" in refused.value.message


def test_no_credit_is_insufficient_funds(sandbox, adapter, account):
    number = offer(sandbox, country="US", number_type="local")["e164"]
    sandbox.state.set_balance(account, "1.00")
    with pytest.raises(errors.InsufficientFunds) as refused:
        adapter.purchase(number)
    assert refused.value.status == 402
    assert sandbox.state.balance(account) == Decimal("1.00")
    assert sandbox.state.purchase_count(account) == 0


def test_a_country_the_account_may_not_buy_in(sandbox, account_with):
    record, adapter = account_with(0, "usonly", allowed_countries=["US"])
    with pytest.raises(errors.RegionNotAllowed):
        adapter.purchase(offer(sandbox, country="IN")["e164"])
    assert sandbox.state.purchase_count(record) == 0


@pytest.mark.parametrize("number", ["+1415", "not a number"])
def test_an_invalid_number(adapter, number):
    with pytest.raises(errors.InvalidNumber) as refused:
        adapter.purchase(number)
    assert (refused.value.status, refused.value.code) == (400, "VALIDATION_FAILED")


def test_a_country_that_is_not_the_numbers(sandbox, adapter):
    quote = adapter.search_available(SearchQuery(country="US"))[0]
    with pytest.raises(errors.InvalidNumber):
        adapter.purchase(quote.number, quote=replace(quote, country="IN"))


def test_a_changed_price_is_bought_at_the_fee_tryvox_states(sandbox, adapter, account):
    # Seed 004 takes no price to hold: TryVox charges its current fee, and the number
    # bought carries that fee, not the one the search quoted.
    quote = adapter.search_available(SearchQuery(country="US", number_type="local"))[0]
    sandbox.state.data["inventory"][SLUG][quote.number]["monthly_fee"] = "1.5000"
    bought = adapter.purchase(quote.number, quote=quote)
    assert (quote.monthly_fee, bought.monthly_fee) == (Decimal("1.25"), Decimal("1.50"))
    assert sandbox.state.purchase_count(account) == 1


def test_a_dropped_purchase_is_ambiguous_and_applied_once(sandbox, adapter, account):
    number = offer(sandbox, country="US")["e164"]
    adapter.client.headers["X-Sandbox-Fault"] = "drop-after-apply"
    with pytest.raises(errors.AmbiguousResult):
        adapter.purchase(number)
    del adapter.client.headers["X-Sandbox-Fault"]
    assert sandbox.state.purchase_count(account) == 1
    assert adapter.get_number(number).status == "active"  # how the portal reconciles


# --- release ----------------------------------------------------------------------------------


def test_release_of_a_new_number_charges_the_early_termination_fee(sandbox, adapter, account):
    bought = adapter.purchase(offer(sandbox, country="US", number_type="local")["e164"])
    balance = sandbox.state.balance(account)
    adapter.release(bought)
    assert bought.number not in {n.number for n in adapter.iter_owned_numbers()}
    assert sandbox.state.balance(account) == balance - Decimal("25.00")
    last = sandbox.state.transactions(account)[-1]
    assert (last["kind"], last["amount"], last["e164"]) == ("debit", "25.0000", bought.number)
    # tryvox.md §2.6: in cooling-off, nobody (the releasing account included) can buy it.
    with pytest.raises(errors.NumberUnavailable):
        adapter.purchase(bought.number)


def test_release_of_an_old_number_is_free(sandbox, adapter, account):
    old = next(
        r
        for r in sandbox.state.owned_numbers(account)
        if r["purchased_at"] < iso(datetime.now(UTC) - timedelta(days=90))
    )
    balance = sandbox.state.balance(account)
    adapter.release(adapter.get_number(old["e164"]))
    assert sandbox.state.balance(account) == balance
    with pytest.raises(errors.NotFound):
        adapter.get_number(old["e164"])


def test_release_of_a_number_not_on_the_account(adapter):
    with pytest.raises(errors.NotFound):
        adapter.release(OwnedNumber("+14155550000", "active", "USD"))


# --- balance, faults, credentials ------------------------------------------------------------


def test_balance_is_an_exact_decimal(sandbox, adapter, account):
    sandbox.state.set_balance(account, "12.3456")
    assert adapter.get_balance().amount == Decimal("12.3456")


def test_a_wrong_secret_fails_authentication(sandbox):
    refused = sandbox.refusal(
        SLUG, lambda adapter: list(adapter.iter_owned_numbers()), secret="tvx_sk_test_wrong"
    )
    assert (refused.status, refused.code) == (401, "UNAUTHORIZED")


def test_another_accounts_path_is_forbidden(sandbox):
    refused = sandbox.refusal(
        SLUG, lambda adapter: adapter.get_balance(), upstream_account_id="acc_someone_else"
    )
    assert (refused.status, refused.code) == (403, "FORBIDDEN")


def test_rate_limited_with_retry_after(adapter):
    adapter.client.headers["X-Sandbox-Fault"] = "429"
    with pytest.raises(errors.RateLimited) as limited:
        list(adapter.iter_owned_numbers())
    assert limited.value.retry_after == 1 and limited.value.code == "RATE_LIMITED"


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors_are_upstream_unavailable(adapter, status):
    adapter.client.headers["X-Sandbox-Fault"] = status
    with pytest.raises(errors.UpstreamUnavailable):
        adapter.get_balance()


@pytest.mark.parametrize(
    "call",
    [
        lambda a: list(a.iter_owned_numbers()),
        lambda a: a.search_available(SearchQuery()),
        lambda a: a.get_balance(),
    ],
)
def test_malformed_json_is_an_unexpected_response(adapter, call):
    malformed(adapter, call)


def test_no_credential_in_the_logs(sandbox, adapter, upstream_log):
    secret = sandbox.config(SLUG).secret
    list(adapter.iter_owned_numbers())
    adapter.purchase(offer(sandbox, country="US")["e164"])
    adapter.get_balance()
    wrong = sandbox.adapter(SLUG, secret="tvx_sk_test_leaked")
    with wrong, pytest.raises(errors.AuthenticationFailed):
        wrong.get_balance()
    lines = [record.getMessage() for record in upstream_log.records]
    assert len(lines) == 4
    assert all("provider=tryvox" in line and "status=" in line for line in lines)
    assert not any(secret in line or "tvx_sk_test_leaked" in line for line in lines)


# --- the sandbox as a curl sees it (tryvox.md §1, §2) ----------------------------------------


def test_without_credentials_the_documented_401(sandbox, account):
    url = f"{sandbox.url}/tryvox/v1/account/{account['account_id']}/numbers"
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic !!"}):
        response = httpx.get(url, headers=headers)
        assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_injected_faults_use_the_documented_error_body(raw):
    limited = raw.get("/balance", headers={"X-Sandbox-Fault": "429"})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert limited.json() == {"error": {"code": "RATE_LIMITED", "message": "Too many requests"}}
    failed = raw.get("/balance", headers={"X-Sandbox-Fault": "500"})
    assert failed.json()["error"]["code"] == "INTERNAL_ERROR"


def test_basic_auth_is_accepted(sandbox, account):
    url = f"{sandbox.url}/tryvox/v1/account/{account['account_id']}/balance"
    response = httpx.get(url, auth=(account["account_id"], account["secret"]))
    assert response.status_code == 200
    assert httpx.get(url, auth=(account["account_id"], "wrong")).status_code == 401


def test_list_envelope_and_paging_rules(raw, account):
    total = len(raw.get("/numbers", params={"per_page": 100}).json()["data"])
    body = raw.get("/numbers", params={"per_page": 5, "page": 2}).json()
    assert body["pagination"] == {
        "total": total,
        "count": 5,
        "per_page": 5,
        "current_page": 2,
        "total_pages": -(-total // 5),
    }
    past = raw.get("/numbers", params={"page": 99}).json()
    assert past["data"] == [] and past["pagination"]["total"] == total
    for bad in ({"per_page": 101}, {"per_page": 0}, {"page": 0}, {"page": "x"}):
        response = raw.get("/numbers", params=bad)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "VALIDATION_FAILED"
    only_in = raw.get("/numbers", params={"country": "IN"}).json()["data"]
    assert only_in and {n["country"] for n in only_in} == {"IN"}


def test_number_object_shape_and_encoded_plus(raw, sandbox, account):
    e164 = sandbox.state.owned_numbers(account)[0]["e164"]
    body = raw.get(f"/numbers/%2B{e164[1:]}").json()
    assert set(body) == {
        "e164",
        "country",
        "type",
        "region",
        "status",
        "capabilities",
        "monthly_fee",
        "setup_fee",
        "currency",
        "trunk_id",
        "application_id",
        "created_at",
        "updated_at",
    }
    assert body["e164"] == e164 and "id" not in body and "label" not in body


def test_purchase_body_errors_are_documented(raw, sandbox):
    response = raw.post("/numbers/purchase-from-inventory", json={"e164": "14155550123"})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"field": "e164", "reason": "must be E.164 format"},
        {"field": "country", "reason": "must be an ISO 3166-1 alpha-2 code"},
    ]
    number = offer(sandbox, country="IN")["e164"]
    # A field seed 004 does not document is refused, as a strict API refuses it.
    extra = {"e164": number, "country": "IN", "expected_monthly_fee": "2.50"}
    unknown = raw.post("/numbers/purchase-from-inventory", json=extra)
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"] == [
        {"field": "expected_monthly_fee", "reason": "is not a field of this request"}
    ]
    sandbox.state.set_balance(sandbox.account(SLUG), "1.10")
    poor = raw.post("/numbers/purchase-from-inventory", json={"e164": number, "country": "IN"})
    assert poor.status_code == 402
    assert poor.json()["error"]["details"] == [
        {"field": "balance", "reason": "required 2.50 USD, available 1.10 USD"}
    ]


def test_release_preview_and_cancel_release(raw, sandbox, account):
    number = offer(sandbox, country="US", number_type="local")["e164"]
    bought = raw.post("/numbers/purchase-from-inventory", json={"e164": number, "country": "US"})
    assert bought.status_code == 200
    preview = raw.get(f"/numbers/{number}/release-preview").json()
    assert preview["can_release"] is True and preview["early_termination_fee"] == 25
    assert preview["cooling_off_period_days"] == 30 and preview["warnings"]
    balance = sandbox.state.balance(account)
    released = raw.delete(f"/numbers/{number}").json()
    assert released["status"] == "released" and released["early_termination_fee"] == 25
    assert released["available_after"] > released["released_at"]
    assert raw.get("/numbers", params={"status": "released"}).json()["data"][0]["e164"] == number
    restored = raw.post(f"/numbers/{number}/cancel-release")
    assert restored.status_code == 200 and restored.json()["status"] == "active"
    assert sandbox.state.balance(account) == balance  # the fee is refunded
    assert raw.post(f"/numbers/{number}/cancel-release").status_code == 404


def test_sandbox_label_endpoint_round_trips_non_ascii(raw, sandbox, account):
    # tryvox.md §2.5: the opt-in sandbox endpoint; the real API (and the adapter) has none.
    e164 = sandbox.state.owned_numbers(account)[0]["e164"]
    label = "Café Zürich \u2013 東京"  # an en dash
    body = raw.patch(f"/numbers/{e164}", json={"label": label}).json()
    assert body["label"] == label
    assert sandbox.state.owned_number(account, e164)["label"] == label


def test_inferred_ledger_endpoint(raw, adapter, sandbox):
    number = offer(sandbox, country="US", number_type="toll_free")["e164"]
    adapter.purchase(number)
    rows = raw.get("/transactions", params={"per_page": 100}).json()["data"]
    mine = [row for row in rows if row["e164"] == number]
    assert {(row["type"], row["category"], row["amount"]) for row in mine} == {
        ("debit", "number_setup", 1),
        ("debit", "number_monthly", 2),
    }


def test_a_restarted_sandbox_keeps_purchases_and_cooling_off(tmp_path, sandbox):
    path = tmp_path / "state.json"
    state = build_state(path, numbers=2, transactions=2, inventory=5)
    spec = sandbox.config(SLUG)
    with serving(build_app(state), spec) as adapter:
        kept, dropped = adapter.search_available(SearchQuery(country="US", limit=2))
        adapter.purchase(kept.number)
        adapter.release(adapter.purchase(dropped.number))
    with serving(build_app(build_state(path)), spec) as adapter:
        assert adapter.get_number(kept.number).status == "active"
        with pytest.raises(errors.NumberUnavailable):
            adapter.purchase(dropped.number)


@contextmanager
def serving(app, config):
    """A TryVox adapter for `config` against its own sandbox server of `app`."""
    with (
        SandboxThread(app) as url,
        TryVoxAdapter(replace(config, base_url=f"{url}/tryvox/v1")) as adapter,
    ):
        yield adapter
