"""Ravan adapter against the Ravan sandbox over real HTTP on loopback (ravan.md).

The adapter's methods are exercised end to end; the last sections speak to the sandbox
directly, as `curl` would, to check the documented shapes, paths and auth errors."""

import inspect
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from portal.providers import errors
from portal.providers.base import AvailableNumber, OwnedNumber, SearchQuery
from portal.providers.capabilities import Capability
from portal.providers.ravan.simulator import RavanSandbox
from portal.providers.sandbox.state import SandboxAccount
from tests.support.sandbox import malformed

SLUG = "ravan"
NON_ASCII_LABEL = "Café Zürich \u2013 東京"
PURCHASED_NUMBER_FIELDS = {
    "id",
    "telephony_id",
    "subscription_id",
    "inbound_trunk_id",
    "outbound_trunk_id",
    "number",
    "friendly_name",
    "per_minute_price_inbound",
    "per_minute_price_outbound",
    "price",
    "region",
    "iso_country",
    "is_active",
    "created_at",
    "updated_at",
}
# The sandbox's own addition (not Ravan's API): each number's next 28-day renewal.
SANDBOX_ONLY_FIELDS = {"next_renewal_at"}
AUTH_ERROR = {"code": 16, "message": "API key is missing or invalid", "details": []}


@pytest.fixture
def ravan(adapter):
    return adapter


@pytest.fixture
def api(sandbox):
    """A plain HTTP client on the Ravan sandbox, authenticated as the built-in account."""
    config = sandbox.config(SLUG)
    with httpx.Client(base_url=config.base_url, headers={"X-Api-Key": config.secret}) as client:
        yield client


def add_account(sandbox, name, *, numbers=0, balance="500", allowed_countries=()):
    """A new sandbox organization and an adapter for it."""
    org_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ravan-test:{name}"))
    spec = SandboxAccount(
        provider=SLUG,
        account_id=org_id,
        secret=f"ravan_test_{uuid.uuid5(uuid.NAMESPACE_URL, name).hex}",
        balance=balance,
        allowed_countries=list(allowed_countries),
        name=name,
    )
    record = sandbox.state.add_account(spec, numbers=numbers, catalog=RavanSandbox.catalog)
    adapter = sandbox.adapter(SLUG, upstream_account_id=org_id, secret=spec.secret)
    return record, adapter


def first_offer(adapter, country="US", **query) -> AvailableNumber:
    return adapter.search_available(SearchQuery(country=country, limit=1, **query))[0]


def taken_number(sandbox) -> str:
    """A number someone else bought since the sandbox was seeded."""
    return sandbox.state.data["taken"][SLUG][0]


def quote_for(number: str, price="1.15") -> AvailableNumber:
    return AvailableNumber(
        number=number, currency="USD", monthly_fee=Decimal(price), quote={"price": Decimal(price)}
    )


def owned_e164s(state, account) -> list[str]:
    return [record["e164"] for record in state.owned_numbers(account)]


# --- capabilities --------------------------------------------------------------------------


def test_declares_what_ravan_offers_and_nothing_else(ravan):
    # Stated as what it lacks, the three operations refused below.
    lacks = {Capability.UPDATE_LABEL, Capability.TRANSACTIONS, Capability.SERVICE_PLANS}
    assert ravan.capabilities == set(Capability) - lacks


@pytest.mark.parametrize(
    "call",
    [
        lambda adapter: adapter.update_label(OwnedNumber("+13612738809", "active", "USD"), "x"),
        lambda adapter: adapter.iter_transactions(),
        lambda adapter: adapter.list_service_plans(),
    ],
    ids=["update_label", "transactions", "service_plans"],
)
def test_what_ravan_lacks_is_not_supported(ravan, call, upstream_log):
    with pytest.raises(errors.NotSupported, match="not supported by Ravan"):
        call(ravan)
    assert not upstream_log.records  # refused without asking the upstream


# --- owned numbers ---------------------------------------------------------------------------


def test_lists_every_owned_number_in_the_portals_vocabulary(sandbox, ravan, account):
    numbers = list(ravan.iter_owned_numbers())
    records = {record["e164"]: record for record in sandbox.state.owned_numbers(account)}
    assert [n.number for n in numbers] == list(records)
    for number in numbers:
        record = records[number.number]
        assert number.status == "active"
        assert number.currency == "USD"
        assert uuid.UUID(number.upstream_id).version == 7
        assert number.label == record["label"]
        assert (number.country, number.region) == (record["country"], record["region"])
        assert number.monthly_fee == Decimal(record["monthly_fee"])
        assert number.purchased_at is not None
        assert number.capabilities == {"voice"}


def test_owned_numbers_come_from_a_generator_that_asks_only_when_iterated(ravan, upstream_log):
    numbers = ravan.iter_owned_numbers()
    assert inspect.isgenerator(numbers)
    assert not upstream_log.records
    next(numbers)
    assert len(upstream_log.records) == 1


@pytest.mark.parametrize(
    "size", [0, 1, 20, 21], ids=["empty", "one", "one-page", "one-more-than-a-page"]
)
def test_every_number_comes_back_exactly_once(sandbox, size):
    record, adapter = add_account(sandbox, f"sized-{size}", numbers=size)
    with adapter:
        listed = [number.number for number in adapter.iter_owned_numbers()]
    assert len(listed) == size
    assert sorted(listed) == owned_e164s(sandbox.state, record)


def test_ten_thousand_numbers_each_come_back_once(sandbox):
    record, adapter = add_account(sandbox, "large", numbers=10_000)
    with adapter:
        listed = [number.number for number in adapter.iter_owned_numbers()]
    assert len(listed) == 10_000
    assert sorted(listed) == owned_e164s(sandbox.state, record)


def test_a_short_page_fault_loses_nothing_because_the_list_is_not_paged(sandbox, ravan, account):
    ravan.client.headers["X-Sandbox-Fault"] = "short-page"
    listed = [number.number for number in ravan.iter_owned_numbers()]
    assert listed == owned_e164s(sandbox.state, account)


def test_get_number_reads_it_from_the_list(ravan):
    wanted = list(ravan.iter_owned_numbers())[3]
    assert ravan.get_number(wanted.number) == wanted


def test_get_number_not_on_the_account_is_not_found(sandbox, ravan):
    with pytest.raises(errors.NotFound):
        ravan.get_number(taken_number(sandbox))


def test_get_number_that_is_not_a_number_is_invalid(ravan):
    with pytest.raises(errors.InvalidNumber):
        ravan.get_number("not a number")


def test_non_ascii_friendly_name_round_trips(sandbox, ravan, account):
    number = owned_e164s(sandbox.state, account)[0]
    sandbox.state.set_label(account, number, NON_ASCII_LABEL)
    assert ravan.get_number(number).label == NON_ASCII_LABEL
    listed = {n.number: n.label for n in ravan.iter_owned_numbers()}
    assert listed[number] == NON_ASCII_LABEL


# --- available numbers ---------------------------------------------------------------------


def test_search_quotes_the_documented_prices_exactly(sandbox, ravan, account):
    offers = ravan.search_available(SearchQuery(country="US", area="TX", limit=5))
    assert len(offers) == 5
    owned = set(owned_e164s(sandbox.state, account))
    for offer in offers:
        assert offer.region == "TX"
        assert offer.country == "US"
        assert offer.currency == "USD"
        assert str(offer.monthly_fee) == "1.15"
        assert str(offer.quote["per_minute_price_inbound"]) == "0.0085"
        assert str(offer.quote["per_minute_price_outbound"]) == "0.0945"
        assert offer.number not in owned
        assert offer.number not in sandbox.state.data["taken"][SLUG]


def test_a_price_with_a_trailing_zero_stays_exactly_that_decimal(ravan):
    offer = first_offer(ravan, "GB")
    assert offer.monthly_fee.as_tuple() == Decimal("2.50").as_tuple()
    assert str(offer.quote["per_minute_price_inbound"]) == "0.0125"


def test_search_respects_the_limit(ravan):
    assert len(ravan.search_available(SearchQuery(country="US", limit=3))) == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"area": "512"}, lambda offer: offer.number.startswith("+1512")),
        ({"area": "CA"}, lambda offer: offer.number.startswith("+1213")),
    ],
    ids=["area-code", "region"],
)
def test_search_narrows_by_area(ravan, query, expected):
    offers = ravan.search_available(SearchQuery(country="US", limit=50, **query))
    assert offers
    assert all(expected(offer) for offer in offers)


def test_search_narrows_by_the_digits_a_number_contains(ravan):
    digits = ravan.search_available(SearchQuery(country="US", limit=50))[-1].number[-4:]
    offers = ravan.search_available(SearchQuery(country="US", contains=digits))
    assert offers
    assert all(digits in offer.number for offer in offers)


def test_numbers_and_offers_carry_the_type_their_number_has(ravan):
    # Ravan states no type (§2.3, §3): US numbers outside the toll-free codes are local,
    # so a type filter Ravan cannot apply is applied here.
    owned = list(ravan.iter_owned_numbers())
    offers = ravan.search_available(SearchQuery(country="US", limit=50))
    assert owned and offers
    assert {n.number_type for n in owned if n.number.startswith("+1")} == {"local"}
    assert {offer.number_type for offer in offers} == {"local"}
    assert ravan.search_available(SearchQuery(country="US", number_type="local")) == offers[:20]
    assert ravan.search_available(SearchQuery(country="US", number_type="toll_free")) == []


def test_search_for_sms_finds_nothing_on_voice_numbers(ravan):
    assert ravan.search_available(SearchQuery(country="US", capabilities=frozenset({"sms"}))) == []


def test_search_reads_the_snake_case_schema_as_well(ravan):
    camel = ravan.search_available(SearchQuery(country="US", limit=4))
    ravan.client.headers["X-Sandbox-Variant"] = "snake_case"
    assert ravan.search_available(SearchQuery(country="US", limit=4)) == camel


@pytest.mark.parametrize("country", ["ZZ", "USA"])
def test_search_in_an_unknown_country_is_an_invalid_request(ravan, country):
    with pytest.raises(errors.InvalidRequest) as error:
        ravan.search_available(SearchQuery(country=country))
    assert error.value.status == 400


# --- purchase --------------------------------------------------------------------------------


def test_purchase_debits_the_price_and_the_number_is_owned(sandbox, ravan, account):
    offer = first_offer(ravan, area="TX")
    before = sandbox.state.balance(account)

    bought = ravan.purchase(offer.number, quote=offer)

    assert (bought.number, bought.status, bought.currency) == (offer.number, "active", "USD")
    assert (bought.country, bought.region) == ("US", "TX")
    assert bought.monthly_fee == Decimal("1.15")
    assert sandbox.state.balance(account) == before - Decimal("1.15")
    assert ravan.get_balance().amount == before - Decimal("1.15")
    assert sandbox.state.purchase_count(account) == 1
    listed = ravan.get_number(offer.number)
    assert uuid.UUID(listed.upstream_id).version == 7
    rental = sandbox.state.transactions(account)[-1]
    assert (rental["kind"], rental["e164"], Decimal(rental["amount"])) == (
        "recurring",
        offer.number,
        Decimal("1.15"),
    )
    assert offer.number not in {o.number for o in ravan.search_available(SearchQuery(limit=100))}


def test_purchase_of_a_taken_number_is_unavailable(sandbox, ravan, account):
    with pytest.raises(errors.NumberUnavailable) as error:
        ravan.purchase(taken_number(sandbox), quote=quote_for(taken_number(sandbox)))
    assert error.value.status == 409
    assert sandbox.state.purchase_count(account) == 0


def test_purchase_of_a_number_already_bought_is_unavailable(ravan):
    offer = first_offer(ravan)
    ravan.purchase(offer.number, quote=offer)
    with pytest.raises(errors.NumberUnavailable):
        ravan.purchase(offer.number, quote=offer)


@pytest.mark.parametrize("variant", ["", "grpc-insufficient"], ids=["402-envelope", "400-grpc"])
def test_purchase_without_enough_credits_is_refused(sandbox, ravan, account, variant):
    sandbox.state.set_balance(account, "0.50")
    ravan.client.headers["X-Sandbox-Variant"] = variant
    offer = first_offer(ravan)
    with pytest.raises(errors.InsufficientFunds, match=r"0\.50 are below the price 1\.15"):
        ravan.purchase(offer.number, quote=offer)
    assert sandbox.state.balance(account) == Decimal("0.50")
    assert sandbox.state.purchase_count(account) == 0


def test_purchase_outside_the_allowed_countries_is_refused(sandbox):
    record, adapter = add_account(sandbox, "gb-only", allowed_countries=["GB"])
    with adapter:
        us_offer = first_offer(adapter, "US")
        with pytest.raises(errors.RegionNotAllowed) as error:
            adapter.purchase(us_offer.number, quote=us_offer)
        assert (error.value.status, error.value.code) == (403, "REGION_NOT_ALLOWED")
        gb_offer = first_offer(adapter, "GB")
        assert adapter.purchase(gb_offer.number, quote=gb_offer).number == gb_offer.number
    assert sandbox.state.purchase_count(record) == 1


def test_purchase_of_something_that_is_not_a_number_is_refused_before_sending(ravan, upstream_log):
    with pytest.raises(errors.InvalidNumber):
        ravan.purchase("12ab", quote=quote_for("12ab"))
    assert not upstream_log.records


def test_an_invalid_number_refused_by_ravan_is_an_invalid_number(ravan):
    with pytest.raises(errors.InvalidNumber) as error:
        ravan.release(OwnedNumber(number="+1", status="active", currency="USD"))
    assert error.value.status == 400


@pytest.mark.parametrize(
    "stale",
    [{"price": Decimal("1.05")}, {"per_minute_price_outbound": Decimal("0.0900")}],
    ids=["price", "per-minute-price"],
)
def test_purchase_at_a_stale_price_is_refused(sandbox, ravan, account, stale):
    offer = first_offer(ravan)
    stale_offer = replace(offer, quote={**offer.quote, **stale})
    with pytest.raises(errors.PriceChanged, match="price mismatch: current"):
        ravan.purchase(offer.number, quote=stale_offer)
    assert sandbox.state.purchase_count(account) == 0


def test_purchase_needs_the_quote_ravan_gave(ravan, upstream_log):
    offer = first_offer(ravan)
    upstream_log.clear()
    with pytest.raises(errors.InvalidRequest, match="only at a quoted price"):
        ravan.purchase(offer.number)
    assert not upstream_log.records


def test_a_purchase_whose_answer_is_lost_is_ambiguous_and_applied_once(sandbox, ravan, account):
    offer = first_offer(ravan)
    ravan.client.headers["X-Sandbox-Fault"] = "drop-after-apply"
    with pytest.raises(errors.AmbiguousResult):
        ravan.purchase(offer.number, quote=offer)
    del ravan.client.headers["X-Sandbox-Fault"]
    assert sandbox.state.purchase_count(account) == 1
    assert ravan.get_number(offer.number).status == "active"  # how the portal reconciles


# --- release ---------------------------------------------------------------------------------


def test_release_removes_the_number(sandbox, ravan, account):
    number = next(ravan.iter_owned_numbers())
    ravan.release(number)
    assert number.number not in {n.number for n in ravan.iter_owned_numbers()}
    assert number.number not in owned_e164s(sandbox.state, account)
    assert sandbox.state.search_inventory(SLUG, contains=number.number)  # back in the pool


def test_release_of_a_number_not_held_is_not_found(sandbox, ravan):
    number = next(ravan.iter_owned_numbers())
    ravan.release(number)
    with pytest.raises(errors.NotFound):
        ravan.release(number)


# --- balance ---------------------------------------------------------------------------------


def test_balance_is_the_organizations_credits_exactly(sandbox, ravan, account):
    sandbox.state.set_balance(account, "12.3456")
    balance = ravan.get_balance()
    assert balance.amount.as_tuple() == Decimal("12.3456").as_tuple()
    assert balance.currency == "USD"


def test_balance_of_another_organization_is_forbidden(sandbox):
    other_org = str(uuid.uuid4())
    error = sandbox.refusal(
        SLUG, lambda adapter: adapter.get_balance(), upstream_account_id=other_org
    )
    assert (error.status, error.code) == (403, "FORBIDDEN")


def test_balance_without_an_organization_id_is_refused_before_sending(sandbox, upstream_log):
    with (
        sandbox.adapter(SLUG, upstream_account_id=" ") as adapter,
        pytest.raises(errors.InvalidRequest),
    ):
        adapter.get_balance()
    assert not upstream_log.records


# --- authentication, faults and logs ---------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda adapter: list(adapter.iter_owned_numbers()),
        lambda adapter: adapter.search_available(SearchQuery()),
        lambda adapter: adapter.purchase("+13612738809", quote=quote_for("+13612738809")),
        lambda adapter: adapter.release(OwnedNumber("+13612738809", "active", "USD")),
        lambda adapter: adapter.get_balance(),
    ],
    ids=["list", "search", "purchase", "release", "balance"],
)
def test_a_wrong_key_fails_authentication(sandbox, call):
    error = sandbox.refusal(SLUG, call, secret="ravan_test_wrong")
    assert (error.status, error.code) == (401, "UNAUTHENTICATED")


def test_rate_limiting_carries_the_retry_after(ravan):
    ravan.client.headers["X-Sandbox-Fault"] = "429"
    with pytest.raises(errors.RateLimited) as error:
        list(ravan.iter_owned_numbers())
    assert error.value.retry_after == 1
    assert error.value.code == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors_are_upstream_unavailable(sandbox, ravan, account, status):
    offer = first_offer(ravan)
    ravan.client.headers["X-Sandbox-Fault"] = status
    with pytest.raises(errors.UpstreamUnavailable):
        ravan.get_balance()
    with pytest.raises(errors.UpstreamUnavailable):
        ravan.purchase(offer.number, quote=offer)
    assert sandbox.state.purchase_count(account) == 0


@pytest.mark.parametrize(
    "call",
    [lambda adapter: list(adapter.iter_owned_numbers()), lambda adapter: adapter.get_balance()],
    ids=["list", "balance"],
)
def test_malformed_json_is_an_unexpected_response(ravan, call):
    malformed(ravan, call)


def test_logs_name_each_call_and_never_the_key(sandbox, ravan, upstream_log):
    secret = sandbox.config(SLUG).secret
    offer = first_offer(ravan)
    ravan.purchase(offer.number, quote=offer)
    ravan.release(ravan.get_number(offer.number))
    ravan.get_balance()
    with (
        sandbox.adapter(SLUG, secret=f"{secret}-revoked") as wrong,
        pytest.raises(errors.AuthenticationFailed),
    ):
        wrong.get_balance()

    lines = [record.getMessage() for record in upstream_log.records]
    assert "provider=ravan method=POST path=/phone-numbers/buy/ status=200" in "\n".join(lines)
    assert any("status=401" in line for line in lines)
    for record in upstream_log.records:
        assert secret not in record.getMessage()
        assert secret not in repr(record.args)


# --- the sandbox as curl sees it --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/phone-numbers/list"),
        ("GET", "/phone-numbers/available-numbers/US/"),
        ("POST", "/phone-numbers/buy/"),
        ("DELETE", "/phone-numbers/+13612738809/release/"),
        ("GET", "/organizations/profile/019a3f5e-8b2c-7d41-9e6f-2a8c4b1d7e90"),
        ("GET", "/calling/call-sessions"),
    ],
)
def test_without_a_key_the_documented_401(sandbox, method, path):
    response = httpx.request(method, f"{sandbox.config(SLUG).base_url}{path}")
    assert response.status_code == 401
    assert response.json() == AUTH_ERROR


def test_list_has_the_documented_envelope_and_number_object(api):
    body = api.get("/phone-numbers/list").json()
    assert set(body) == {"success", "message", "data"}
    assert body["success"] is True
    assert all(set(item) == PURCHASED_NUMBER_FIELDS | SANDBOX_ONLY_FIELDS for item in body["data"])
    assert '"per_minute_price_inbound": 0.0085' in api.get("/phone-numbers/list").text


def test_the_sandbox_lists_each_numbers_next_renewal_28_days_on_from_its_purchase(api):
    now = datetime.now(UTC)
    for item in api.get("/phone-numbers/list").json()["data"]:
        bought = datetime.fromisoformat(item["created_at"])
        renews = datetime.fromisoformat(item["next_renewal_at"])
        assert now < renews <= now + timedelta(days=28)
        assert (renews - bought) % timedelta(days=28) == timedelta(0)
        assert renews - bought >= timedelta(days=28)  # the purchase paid the first period


def test_available_numbers_have_the_published_camel_case_shape(api):
    response = api.get("/phone-numbers/available-numbers/US", params={"page_size": 2})
    items = response.json()["data"]
    assert len(items) == 2
    assert set(items[0]) == {
        "isoCountry",
        "phoneNumber",
        "price",
        "perMinutePriceOutbound",
        "perMinutePriceInbound",
        "telephonyType",
    }
    assert '"price": 1.15' in response.text


def test_buy_and_release_answer_the_documented_data(api):
    offer = api.get("/phone-numbers/available-numbers/US/").json()["data"][0]
    bought = api.post(
        "/phone-numbers/buy/",
        content=(
            f'{{"phone_number": "{offer["phoneNumber"]}", "price": 1.15, '
            '"per_minute_price_inbound": 0.0085, "per_minute_price_outbound": 0.0945}'
        ),
        headers={"Content-Type": "application/json"},
    )
    assert bought.status_code == 200
    assert set(bought.json()["data"]) == {"phone_number", "price", "status", "purchased_at"}
    released = api.delete(f"/phone-numbers/{offer['phoneNumber'].replace('+', '%2B')}/release")
    assert released.status_code == 200
    assert released.json()["data"]["status"] == "released"


def test_buy_with_a_bad_body_is_the_documented_400(api):
    response = api.post("/phone-numbers/buy/", json={"price": 1.15})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["message"]) == (3, "Invalid request parameters")


def test_profile_wraps_the_documented_fields(api, account):
    data = api.get(f"/organizations/profile/{account['account_id']}").json()["data"]
    assert {"id", "name", "total_credits", "max_credits", "plan_name", "api_rate_limit"} <= set(
        data
    )


def test_the_inferred_paged_list_gives_every_number_once_and_says_how_many(api, account):
    seen, offset = [], 0
    while True:
        body = api.get("/phone-numbers/list", params={"limit": 5, "offset": offset}).json()
        assert body["meta"]["total"] == 12
        seen += [item["number"] for item in body["data"]]
        offset += 5
        if offset >= body["meta"]["total"]:
            break
    assert len(seen) == len(set(seen)) == 12


def test_a_short_page_returns_one_number_fewer_than_it_claims(api):
    response = api.get(
        "/phone-numbers/list",
        params={"limit": 5, "offset": 0},
        headers={"X-Sandbox-Fault": "short-page"},
    )
    body = response.json()
    assert (body["meta"]["limit"], len(body["data"])) == (5, 4)


def test_list_filters_by_the_documented_parameters(api):
    listed = api.get("/phone-numbers/list", params={"iso_country": "GB", "is_active": "true"})
    assert {item["iso_country"] for item in listed.json()["data"]} == {"GB"}
    bad = api.get("/phone-numbers/list", params={"is_active": "maybe"})
    assert bad.status_code == 400


def test_the_opt_in_label_write_is_read_back_by_the_adapter(api, ravan):
    item = api.get("/phone-numbers/list").json()["data"][0]
    path = f"/phone-numbers/{item['id']}/"
    assert api.patch(path, json={"friendly_name": NON_ASCII_LABEL}).status_code == 404
    updated = api.patch(
        path, json={"friendly_name": NON_ASCII_LABEL}, headers={"X-Sandbox-Variant": "label-writes"}
    )
    assert updated.json()["data"]["friendly_name"] == NON_ASCII_LABEL
    assert ravan.get_number(item["number"]).label == NON_ASCII_LABEL
    assert api.get(path).json()["data"]["friendly_name"] == NON_ASCII_LABEL


def test_the_429_fault_has_the_grpc_shape_and_retry_after(api):
    response = api.get("/phone-numbers/list", headers={"X-Sandbox-Fault": "429"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json() == {"code": 8, "message": "rate limit exceeded", "details": []}


def test_call_sessions_are_paged_with_meta(api, account):
    first = api.get("/calling/call-sessions", params={"page": 1, "page_size": 2}).json()
    total = first["meta"]["total"]
    everything = api.get("/calling/call-sessions", params={"page_size": 100}).json()["data"]
    assert len(everything) == total
    assert all(item["organization_id"] == account["account_id"] for item in everything)
    assert first["data"] == everything[:2]


def test_phone_history_gives_costs_as_text(api):
    sessions = api.get("/calling/call-sessions", params={"page_size": 1}).json()["data"]
    call = sessions[0]
    owned = {item["number"] for item in api.get("/phone-numbers/list").json()["data"]}
    phone = call["caller_number"] if call["caller_number"] in owned else call["callee_number"]
    history = api.get("/calling/phone-history", params={"phone": phone}).json()
    assert history["phone"] == phone
    assert history["total_count"] >= 1
    assert all(isinstance(c["cost_total"], str) for c in history["calls"])
    assert Decimal(history["calls"][0]["cost_total"]) > 0


def test_unknown_paths_answer_the_documented_404_envelope(api):
    response = api.get("/phone-numbers/nowhere/else")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_search_in_a_country_ravan_does_not_sell_in_is_refused_as_such(ravan):
    """Issue 17 (7): India is a country, Ravan just has no numbers there."""
    with pytest.raises(errors.RegionNotAllowed) as error:
        ravan.search_available(SearchQuery(country="IN"))
    assert (error.value.status, error.value.code) == (400, "INVALID_COUNTRY")
