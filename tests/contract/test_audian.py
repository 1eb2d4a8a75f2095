"""The Audian adapter against the Audian sandbox over real HTTP on loopback.

Numbers go through family R (`/v2/numbers…`), billing through family K
(`/v2/accounts/{ACCOUNT_ID}/…`); the raw checks at the end speak to the sandbox as curl would,
in both families (providers/audian.md §0).
"""

import uuid
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from portal.providers import errors
from portal.providers.audian.adapter import PAGE_SIZE, AudianAdapter
from portal.providers.audian.simulator import AudianSandbox, audian_id
from portal.providers.base import AccountConfig, ProviderAdapter, SearchQuery
from portal.providers.capabilities import Capability
from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from portal.providers.sandbox.state import SandboxAccount, SandboxState
from tests.support.sandbox import malformed

SLUG = "audian"
NON_ASCII_LABEL = "Café Zürich \u2013 東京"  # with an en dash


@pytest.fixture
def audian(adapter):
    return adapter


def new_account(sandbox, numbers=0, **fields):
    """A fresh sandbox account with `numbers` owned numbers, and an adapter for it."""
    account = SandboxAccount(
        provider=SLUG,
        account_id=uuid.uuid4().hex,
        secret=f"key-{uuid.uuid4().hex}",
        **fields,
    )
    sandbox.state.add_account(account, numbers=numbers, catalog=AudianSandbox.catalog)
    adapter = sandbox.adapter(SLUG, upstream_account_id=account.account_id, secret=account.secret)
    return sandbox.state.account(SLUG, account.account_id), adapter


def for_sale(sandbox, number_type="local"):
    return sandbox.state.search_inventory(SLUG, number_type=number_type)[0]["e164"]


def held(sandbox, account):
    return {record["e164"] for record in sandbox.state.owned_numbers(account)}


# --- capabilities -------------------------------------------------------------------------


def test_every_operation_is_declared_and_implemented():
    assert AudianAdapter.capabilities == frozenset(Capability)
    for capability in Capability:
        method = {
            Capability.LIST_NUMBERS: "iter_owned_numbers",
            Capability.SEARCH_NUMBERS: "search_available",
            Capability.BALANCE: "get_balance",
            Capability.TRANSACTIONS: "iter_transactions",
            Capability.SERVICE_PLANS: "list_service_plans",
            Capability.CALL_RECORDS: "iter_calls",
        }.get(capability, capability.value)
        assert getattr(AudianAdapter, method) is not getattr(ProviderAdapter, method)


def test_an_operation_taken_away_answers_not_supported_by_audian(sandbox):
    """Audian offers every operation; a narrower declaration still fails plainly."""

    class WithoutTransactions(AudianAdapter):
        capabilities = AudianAdapter.capabilities - {Capability.TRANSACTIONS}
        iter_transactions = ProviderAdapter.iter_transactions

    with (
        WithoutTransactions(sandbox.config(SLUG)) as adapter,
        pytest.raises(errors.NotSupported, match="Transactions is not supported by Audian"),
    ):
        list(adapter.iter_transactions())


# --- owned numbers ------------------------------------------------------------------------


def test_lists_the_accounts_numbers_with_ids_labels_and_status(sandbox, audian):
    records = {r["e164"]: r for r in sandbox.state.owned_numbers(sandbox.account(SLUG))}
    numbers = list(audian.iter_owned_numbers())
    assert {n.number for n in numbers} == set(records)
    for number in numbers:
        record = records[number.number]
        assert number.upstream_id == audian_id(record)
        assert number.label == record["label"]
        assert number.status == "active"
        assert number.currency == "USD"
        assert number.country == "US"
        assert number.number_type == record["type"]
        assert number.purchased_at is not None


@pytest.mark.parametrize("count", [0, 1, PAGE_SIZE, PAGE_SIZE + 1])
def test_paging_returns_every_number_exactly_once(sandbox, count):
    account, adapter = new_account(sandbox, numbers=count)
    with adapter:
        listed = [number.number for number in adapter.iter_owned_numbers()]
    assert len(listed) == count
    assert set(listed) == held(sandbox, account)


def test_ten_thousand_numbers_page_through_once_each(sandbox):
    account, adapter = new_account(sandbox, numbers=10_000)
    with adapter:
        listed = [number.number for number in adapter.iter_owned_numbers()]
    assert len(listed) == 10_000
    assert set(listed) == held(sandbox, account)


def test_short_pages_lose_nothing(sandbox):
    account, adapter = new_account(sandbox, numbers=2 * PAGE_SIZE + 5)
    with adapter:
        adapter.client.headers["X-Sandbox-Fault"] = "short-page"
        listed = [number.number for number in adapter.iter_owned_numbers()]
    assert sorted(listed) == sorted(held(sandbox, account))


def test_listing_is_a_generator_that_reads_one_page_at_a_time(sandbox, upstream_log):
    _, adapter = new_account(sandbox, numbers=PAGE_SIZE + 1)

    def calls():
        return sum(record.name == "portal.providers" for record in upstream_log.records)

    with adapter:
        numbers = adapter.iter_owned_numbers()
        assert calls() == 0
        next(numbers)
        assert calls() == 1
        assert len(list(numbers)) == PAGE_SIZE
        assert calls() == 2


def test_gets_one_number_by_id_with_its_monthly_cost(sandbox, audian):
    listed = next(audian.iter_owned_numbers())
    number = audian.get_number(listed.upstream_id)
    assert number.number == listed.number
    assert number.label == listed.label
    record = sandbox.state.owned_number(sandbox.account(SLUG), listed.number)
    assert number.monthly_fee == Decimal(record["monthly_fee"])
    assert str(number.monthly_fee) in ("0.99", "1.99")  # two places, as Audian writes them


def test_gets_one_number_by_e164_through_the_kazoo_path(sandbox, audian):
    listed = next(n for n in audian.iter_owned_numbers() if n.label)
    number = audian.get_number(listed.number)
    assert (number.number, number.status, number.label) == (listed.number, "active", listed.label)
    assert number.purchased_at == listed.purchased_at


def test_an_unknown_number_is_not_found(audian):
    with pytest.raises(errors.NotFound):
        audian.get_number("num_0000000000000000")
    with pytest.raises(errors.NotFound):
        audian.get_number("+14155550123")


# --- search -------------------------------------------------------------------------------


def test_search_returns_offers_with_exact_prices(sandbox, audian):
    offers = audian.search_available(SearchQuery(country="US", limit=100))
    inventory = {r["e164"]: r for r in sandbox.state.search_inventory(SLUG)}
    assert offers and {offer.number for offer in offers} <= set(inventory)
    for offer in offers:
        assert offer.currency == "USD"
        if offer.number_type == "toll_free":
            assert (str(offer.setup_fee), str(offer.monthly_fee)) == ("2.00", "1.99")
        else:
            assert (offer.setup_fee, offer.monthly_fee) == (Decimal("0"), Decimal("0.99"))
            assert str(offer.monthly_fee) == "0.99"


@pytest.mark.parametrize(
    ("query", "check"),
    [
        (SearchQuery(area="415"), lambda o: o.number.startswith("+1415")),
        (SearchQuery(area="NY"), lambda o: o.region == "New York, NY"),
        (SearchQuery(number_type="toll_free"), lambda o: o.number_type == "toll_free"),
        (SearchQuery(capabilities=frozenset({"mms"})), lambda o: "mms" in o.capabilities),
    ],
    ids=["area-code", "state", "toll-free", "mms"],
)
def test_search_filters(audian, query, check):
    offers = audian.search_available(query)
    assert offers and all(check(offer) for offer in offers)


def test_search_for_digits_and_limit(sandbox, audian):
    number = for_sale(sandbox)
    offers = audian.search_available(SearchQuery(contains=number[-5:]))
    assert number in {offer.number for offer in offers}
    assert all(number[-5:] in offer.number for offer in offers)
    assert len(audian.search_available(SearchQuery(limit=3))) == 3


def test_search_in_an_invalid_location_is_refused(audian):
    with pytest.raises(errors.InvalidRequest, match="location code is invalid"):
        audian.search_available(SearchQuery(country="USA"))


# --- purchase, label, release -------------------------------------------------------------


def test_purchase_moves_the_number_debits_and_records(sandbox, audian):
    account = sandbox.account(SLUG)
    number = for_sale(sandbox)
    balance_before = audian.get_balance().amount
    seen_before = {t.upstream_id for t in audian.iter_transactions()}

    owned = audian.purchase(number, label=NON_ASCII_LABEL)

    assert (owned.number, owned.status, owned.label) == (number, "active", NON_ASCII_LABEL)
    assert owned.upstream_id.startswith("num_")
    assert owned.monthly_fee == Decimal("0.99")
    assert number in {n.number for n in audian.iter_owned_numbers()}
    assert number not in {r["e164"] for r in sandbox.state.search_inventory(SLUG)}
    assert audian.get_balance().amount == balance_before - Decimal("0.99")
    new = [t for t in audian.iter_transactions() if t.upstream_id not in seen_before]
    assert [(t.kind, t.amount, t.number) for t in new] == [("recurring", Decimal("0.99"), number)]
    assert sandbox.state.purchase_count(account) == 1


def test_a_toll_free_purchase_charges_setup_and_month(sandbox, audian):
    offer = audian.search_available(SearchQuery(number_type="toll_free", limit=1))[0]
    before = audian.get_balance().amount
    owned = audian.purchase(offer.number, quote=offer)
    assert (owned.setup_fee, owned.monthly_fee) == (Decimal("2.00"), Decimal("1.99"))
    assert owned.capabilities == offer.capabilities
    assert audian.get_balance().amount == before - Decimal("3.99")
    charges = [t for t in audian.iter_transactions() if t.number == offer.number]
    assert sorted((t.kind, t.amount) for t in charges) == [
        ("debit", Decimal("2.00")),
        ("recurring", Decimal("1.99")),
    ]


def test_a_taken_number_is_unavailable(sandbox, audian):
    with pytest.raises(errors.NumberUnavailable) as taken:
        audian.purchase(sandbox.state.data["taken"][SLUG][0])
    assert (taken.value.status, taken.value.code) == (409, "NUMBER_UNAVAILABLE")
    number = for_sale(sandbox)
    audian.purchase(number)
    with pytest.raises(errors.NumberUnavailable):
        audian.purchase(number)
    with pytest.raises(errors.NumberUnavailable):  # valid, but never for sale
        audian.purchase("+14155550123")


def test_without_credit_nothing_is_bought(sandbox, audian):
    account = sandbox.account(SLUG)
    sandbox.state.set_balance(account, "0.50")
    number = for_sale(sandbox)
    with pytest.raises(errors.InsufficientFunds) as refused:
        audian.purchase(number)
    assert (refused.value.status, refused.value.code) == (402, "INSUFFICIENT_CREDIT")
    assert number not in held(sandbox, account)
    assert audian.get_balance().amount == Decimal("0.50")


def test_a_region_outside_the_account_is_refused(sandbox):
    account, adapter = new_account(sandbox, allowed_countries=["CA"])
    with adapter, pytest.raises(errors.RegionNotAllowed) as refused:
        adapter.purchase(for_sale(sandbox))
    assert (refused.value.status, refused.value.code) == (403, "INVALID_REGION")
    assert held(sandbox, account) == set()


@pytest.mark.parametrize("number", ["+1415", "not a number", "4155550123x"])
def test_an_invalid_number_is_refused(audian, number):
    with pytest.raises(errors.InvalidNumber) as refused:
        audian.purchase(number)
    assert (refused.value.status, refused.value.code) == (400, "invalid_phone_number")


def test_a_non_ascii_label_round_trips(sandbox, audian):
    listed = next(audian.iter_owned_numbers())
    updated = audian.update_label(listed, NON_ASCII_LABEL)
    assert updated.label == NON_ASCII_LABEL
    again = {n.number: n for n in audian.iter_owned_numbers()}[listed.number]
    assert again.label == NON_ASCII_LABEL
    assert audian.get_number(listed.number).label == NON_ASCII_LABEL
    record = sandbox.state.owned_number(sandbox.account(SLUG), listed.number)
    assert record["label"] == NON_ASCII_LABEL


def test_a_label_can_be_cleared_and_set_without_a_known_id(audian):
    listed = next(audian.iter_owned_numbers())
    assert audian.update_label(replace(listed, upstream_id=""), "").label == ""
    assert audian.get_number(listed.upstream_id).label == ""


def test_release_removes_the_number(sandbox, audian):
    account = sandbox.account(SLUG)
    bought = audian.purchase(for_sale(sandbox))
    audian.release(bought)
    assert bought.number not in {n.number for n in audian.iter_owned_numbers()}
    assert bought.number not in held(sandbox, account)
    assert bought.number in {r["e164"] for r in sandbox.state.search_inventory(SLUG)}
    with pytest.raises(errors.NotFound):
        audian.release(bought)
    with pytest.raises(errors.NotFound):
        audian.release(replace(bought, upstream_id=""))


# --- billing ------------------------------------------------------------------------------


def test_balance_is_the_exact_decimal(sandbox, audian):
    account = sandbox.account(SLUG)
    for value in ("0.0085", "2.50", "-12.34"):
        sandbox.state.set_balance(account, value)
        balance = audian.get_balance()
        assert (balance.amount, balance.currency) == (Decimal(value), "USD")
        assert str(balance.amount) == value


def test_transactions_are_the_ledger_with_exact_amounts(sandbox, audian):
    ledger = sandbox.state.transactions(sandbox.account(SLUG))
    transactions = list(audian.iter_transactions())
    assert [t.upstream_id for t in transactions] == [row["id"] for row in ledger]
    for transaction, row in zip(transactions, ledger, strict=True):
        assert transaction.kind == row["kind"]
        assert transaction.amount == Decimal(row["amount"])
        assert transaction.currency == "USD"
        assert transaction.number == row["e164"]
        assert transaction.occurred_at.isoformat().replace("+00:00", "Z") == row["created_at"]
    assert {t.kind for t in transactions} == {"credit", "usage", "recurring"}


def test_transactions_since_a_point_in_time(sandbox, audian):
    ledger = list(audian.iter_transactions())
    since = ledger[len(ledger) // 2].occurred_at
    expected = [t.upstream_id for t in ledger if t.occurred_at >= since]
    assert [t.upstream_id for t in audian.iter_transactions(since)] == expected
    future = ledger[-1].occurred_at + timedelta(days=1)
    assert list(audian.iter_transactions(future)) == []


def test_service_plans_carry_number_rates(audian):
    (plan,) = audian.list_service_plans()
    assert plan.upstream_id == "sandbox_numbers" and plan.name
    assert plan.rates["did_us"]["rate"] == "0.99"
    assert plan.rates["tollfree_us"] == {
        "name": "US toll-free",
        "rate": "1.99",
        "activation_charge": "2.00",
    }


# --- authentication -----------------------------------------------------------------------


def test_a_wrong_key_fails_authentication_in_both_families(sandbox):
    with sandbox.adapter(SLUG, secret="wrong-key") as adapter:
        with pytest.raises(errors.AuthenticationFailed) as numbers:
            list(adapter.iter_owned_numbers())
        assert (numbers.value.status, numbers.value.code) == (401, "invalid_api_key")
        with pytest.raises(errors.AuthenticationFailed) as billing:
            adapter.get_balance()
        assert (billing.value.status, billing.value.code) == (401, "unauthorized")


def test_another_accounts_id_is_forbidden(sandbox):
    other, _ = new_account(sandbox)
    forbidden = sandbox.refusal(
        SLUG, lambda adapter: adapter.get_balance(), upstream_account_id=other["account_id"]
    )
    assert (forbidden.status, forbidden.code) == (403, "forbidden")


# --- faults -------------------------------------------------------------------------------


def test_rate_limiting_carries_retry_after(audian):
    audian.client.headers["X-Sandbox-Fault"] = "429"
    with pytest.raises(errors.RateLimited) as limited:
        audian.get_balance()
    assert limited.value.retry_after == 1
    assert limited.value.retryable


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors_are_upstream_unavailable(audian, status):
    audian.client.headers["X-Sandbox-Fault"] = status
    with pytest.raises(errors.UpstreamUnavailable) as failed:
        list(audian.iter_owned_numbers())
    assert failed.value.status == int(status)


def answering(status: str, content_type: str, body: str):
    """A server in front of Audian (a gateway, a proxy, a new version of the API) that
    answers every request with `body`, not in any envelope Audian documents."""

    def application(environ, start_response):
        start_response(status, [("Content-Type", content_type)])
        return [body.encode()]

    return application


SECRET = "key-0a1b2c3d4e5f"
NGINX_404 = (
    "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1>"
    "</center><hr><center>nginx</center></body></html>"
)


@pytest.mark.parametrize(
    ("status", "content_type", "body", "error", "message"),
    [
        ("404 Not Found", "text/html", NGINX_404, errors.NotFound, "Audian answered 404 Not Found"),
        (
            "503 Service Unavailable",
            "text/html",
            "<html><body><p>Down for maintenance &amp; back at 14:00 UTC.</p></body></html>",
            errors.UpstreamUnavailable,
            "Audian answered 503 Service Unavailable: Down for maintenance & back at 14:00 UTC.",
        ),
        (
            "502 Bad Gateway",
            "text/plain",
            "upstream connect error or disconnect/reset before headers",
            errors.UpstreamUnavailable,
            "Audian answered 502 Bad Gateway: "
            "upstream connect error or disconnect/reset before headers",
        ),
        (
            "404 Not Found",
            "application/json",
            '{"message": "Route GET /v2/numbers not found"}',
            errors.NotFound,
            "Audian answered 404 Not Found: Route GET /v2/numbers not found",
        ),
        (
            "400 Bad Request",
            "application/json",
            '{"error": "limit must be at most 100"}',
            errors.InvalidRequest,
            "Audian answered 400 Bad Request: limit must be at most 100",
        ),
        (
            "401 Unauthorized",
            "application/json",
            f'{{"message": "API key {SECRET} is not valid"}}',
            errors.AuthenticationFailed,
            "Audian answered 401 Unauthorized: API key [redacted] is not valid",
        ),
    ],
    ids=["html-page", "html-text", "plain-text", "json-message", "json-error-text", "json-key"],
)
def test_an_error_without_the_documented_envelope_says_what_happened(
    status, content_type, body, error, message
):
    with (
        SandboxThread(answering(status, content_type, body)) as url,
        AudianAdapter(AccountConfig(f"{url}/v2", "acct", SECRET)) as adapter,
        pytest.raises(error) as failed,
    ):
        list(adapter.iter_owned_numbers())
    assert failed.value.message == message
    assert SECRET not in str(failed.value)


def test_a_dropped_purchase_is_ambiguous_and_applied_once(sandbox, audian):
    account = sandbox.account(SLUG)
    number = for_sale(sandbox)
    audian.client.headers["X-Sandbox-Fault"] = "drop-after-apply"
    with pytest.raises(errors.AmbiguousResult):
        audian.purchase(number)
    del audian.client.headers["X-Sandbox-Fault"]
    assert sandbox.state.purchase_count(account) == 1
    assert number in {n.number for n in audian.iter_owned_numbers()}


def test_a_dropped_read_is_safe_to_retry(audian):
    audian.client.headers["X-Sandbox-Fault"] = "drop-after-apply"
    with pytest.raises(errors.UpstreamUnavailable):
        audian.get_balance()


def test_malformed_json_is_an_unexpected_response(audian):
    assert malformed(audian, lambda adapter: list(adapter.iter_owned_numbers())).excerpt


def test_random_faults_are_all_typed(sandbox):
    _, adapter = new_account(sandbox, numbers=3)
    failures = set()
    with adapter:
        adapter.client.headers["X-Sandbox-Fault-Rate"] = "1"
        for _ in range(12):
            with pytest.raises((errors.RateLimited, errors.UpstreamUnavailable)) as failed:
                adapter.get_balance()
            failures.add(failed.value.status)
    assert failures <= {429, 500, 503}


# --- logs ---------------------------------------------------------------------------------


def test_logs_name_each_call_and_never_the_key(sandbox, audian, upstream_log):
    secret = sandbox.config(SLUG).secret
    list(audian.iter_owned_numbers())
    audian.purchase(for_sale(sandbox), label="Support")
    audian.get_balance()
    with pytest.raises(errors.NumberUnavailable):
        audian.purchase(sandbox.state.data["taken"][SLUG][0])
    with (
        sandbox.adapter(SLUG, secret="wrong-" + secret) as wrong,
        pytest.raises(errors.AuthenticationFailed) as refused,
    ):
        wrong.get_balance()
    lines = [r.getMessage() for r in upstream_log.records if r.name == "portal.providers"]
    assert len(lines) == 5
    assert all("provider=audian" in line for line in lines)
    assert any("method=POST path=/numbers/purchase status=201" in line for line in lines)
    assert all("request_id=-" not in line for line in lines)
    assert not any(secret in line for line in lines)
    assert secret not in str(refused.value) and secret not in repr(audian.account)


# --- the sandbox as curl sees it ----------------------------------------------------------


@pytest.fixture
def raw(sandbox):
    with httpx.Client(base_url=f"{sandbox.url}/audian/v2") as client:
        yield client


def key_headers(sandbox):
    return {"X-Auth-Token": sandbox.config(SLUG).secret}


def test_without_a_key_family_r_answers_the_documented_401(raw):
    response = raw.get("/numbers")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "missing_authentication",
            "message": "X-Auth-Token is required",
            "type": "authentication_error",
        }
    }


def test_without_a_key_family_k_answers_the_kazoo_401(sandbox, raw):
    response = raw.get(f"/accounts/{sandbox.config(SLUG).upstream_account_id}/balance")
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "401" and isinstance(body["error"], str)
    assert (body["message"], body["status"]) == ("unauthorized", "error")
    assert body["data"] == {"message": "invalid credentials"}
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_family_r_shapes_with_the_key(sandbox, raw):
    listing = raw.get("/numbers", params={"limit": 5}, headers=key_headers(sandbox)).json()
    assert listing["success"] is True
    assert set(listing["data"]) == {"numbers", "total", "limit", "offset"}
    assert (listing["data"]["limit"], len(listing["data"]["numbers"])) == (5, 5)
    assert set(listing["data"]["numbers"][0]) == {
        "id",
        "number",
        "friendly_name",
        "status",
        "purchased_at",
        "expires_at",
    }
    search = raw.get(
        "/numbers/search", params={"location": "US-CA-415"}, headers=key_headers(sandbox)
    )
    assert '"price": {"monthly": 0.99, "setup": 0.00}' in search.text  # JSON numbers, §4
    assert search.json()["data"]["limit"] == 10  # §2.3-R: the search's own default


def test_family_k_shapes_with_the_key_or_an_issued_token(sandbox, raw):
    config = sandbox.config(SLUG)
    issued = raw.put("/api_auth", json={"data": {"api_key": config.secret}}).json()
    assert issued["data"]["account_id"] == config.upstream_account_id
    token = issued["auth_token"]
    balance = raw.get(
        f"/accounts/{config.upstream_account_id}/balance", headers={"X-Auth-Token": token}
    ).json()
    assert balance["status"] == "success" and balance["auth_token"] == token
    assert set(balance["data"]) == {"balance", "currency"}
    refused = raw.put("/api_auth", json={"data": {"api_key": "wrong"}})
    assert refused.status_code == 401 and refused.json()["message"] == "unauthorized"


def test_family_k_pages_numbers_with_start_keys(sandbox, raw):
    account, adapter = new_account(sandbox, numbers=60)
    adapter.close()
    headers = {"X-Auth-Token": account["secret"], "X-Sandbox-Fault": "short-page"}
    path = f"/accounts/{account['account_id']}/phone_numbers"
    seen, params = [], {"page_size": 25}
    while True:
        body = raw.get(path, params=params, headers=headers).json()
        assert all(item["state"] == "in_service" for item in body["data"].values())
        seen += list(body["data"])
        if not body.get("next_start_key"):
            break
        params["start_key"] = body["next_start_key"]
    assert sorted(seen) == sorted(held(sandbox, account))
    everything = raw.get(
        path, params={"paginate": "false"}, headers={"X-Auth-Token": account["secret"]}
    )
    assert len(everything.json()["data"]) == 60


def test_family_k_buys_labels_and_releases_by_number(sandbox, raw):
    config, account = sandbox.config(SLUG), sandbox.account(SLUG)
    headers = key_headers(sandbox)
    found = raw.get("/phone_numbers", params={"prefix": "415", "quantity": 2}, headers=headers)
    first, _ = found.json()["data"]  # Audian's example: bare E.164 strings
    path = f"/accounts/{config.upstream_account_id}/phone_numbers/{first.replace('+', '%2B')}"
    bought = raw.put(path, json={"data": {}}, headers=headers)
    assert bought.status_code == 201 and bought.json()["data"]["state"] == "in_service"
    again = raw.put(path, json={"data": {}}, headers=headers)
    assert (again.status_code, again.json()["message"]) == (409, "number_exists")
    labelled = raw.patch(path, json={"data": {"friendly_name": "Front desk"}}, headers=headers)
    assert labelled.json()["data"]["friendly_name"] == "Front desk"
    released = raw.delete(path, headers=headers)
    assert released.json()["data"]["state"] == "available"
    assert first not in held(sandbox, account)
    gone = raw.get(path, headers=headers)
    assert (gone.status_code, gone.json()["message"]) == (404, "bad_identifier")


def test_a_restarted_sandbox_keeps_what_was_bought(tmp_path):
    path = tmp_path / "sandbox.json"
    state = build_state(path, numbers=2, transactions=2, inventory=3)
    spec = next(a for a in state.data["accounts"].values() if a["provider"] == SLUG)
    number = state.search_inventory(SLUG)[0]["e164"]
    with serving(state, spec) as adapter:
        adapter.purchase(number, label="Kept")
    with serving(SandboxState.load(path), spec) as adapter:
        labels = {owned.number: owned.label for owned in adapter.iter_owned_numbers()}
    assert labels[number] == "Kept"


@contextmanager
def serving(state, spec):
    """An adapter for `spec` against its own sandbox server of `state`."""
    with SandboxThread(build_app(state, FaultConfig())) as url:
        config = AccountConfig(f"{url}/audian/v2", spec["account_id"], spec["secret"])
        with AudianAdapter(config) as adapter:
            yield adapter
