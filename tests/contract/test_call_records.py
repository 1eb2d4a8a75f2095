"""Each adapter's call records against the sandbox over loopback: every call the sandbox
holds comes back once, at the state's cost; Audian and Vobiz bill each call in their
ledger exactly once; late prices and added calls behave; an endless listing fails."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from portal.providers import errors
from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from tests.support.canned import CannedServer
from tests.support.sandbox import Sandbox

SLUGS = ("audian", "vobiz", "ravan", "tryvox")
WINDOW = timedelta(days=30)


@pytest.fixture
def sandbox():
    state = build_state(numbers=12, transactions=30, inventory=6, calls=250)
    with SandboxThread(build_app(state, FaultConfig())) as url:
        yield Sandbox(state, url)


def read_all(adapter, since, until):
    """As the sync reads: window by window, oldest first, or in one pass."""
    if not adapter.calls_filter_by_time:
        return list(adapter.iter_calls(since, until))
    calls, start = [], since
    while start < until:
        calls += adapter.iter_calls(start, min(start + WINDOW, until))
        start += WINDOW
    return calls


def history(state):
    return state.anchor - timedelta(days=400), datetime.now(UTC) + timedelta(minutes=1)


def priced(adapter, calls):
    """Cost by id, reading the price of the calls that came unpriced."""
    costs = {call.upstream_id: call.cost for call in calls}
    missing = [(call.upstream_id, call.started_at) for call in calls if call.cost is None]
    for call_id, price in adapter.price_calls(missing).items():
        costs[call_id] = price.cost
    return costs


@pytest.mark.parametrize("slug", SLUGS)
def test_every_call_comes_back_once_at_the_state_cost(sandbox, slug):
    account = sandbox.account(slug)
    held = {call["id"]: Decimal(call["cost"]) for call in sandbox.state.calls_page(account)[0]}
    with sandbox.adapter(slug) as adapter:
        calls = read_all(adapter, *history(sandbox.state))
        costs = priced(adapter, calls)
    assert sorted(call.upstream_id for call in calls) == sorted(held)
    assert costs == held
    assert all(call.started_at.tzinfo is not None for call in calls)


def test_ravan_web_sessions_come_without_numbers(sandbox):
    with sandbox.adapter("ravan") as adapter:
        calls = read_all(adapter, *history(sandbox.state))
    web = [call for call in calls if not call.from_number]
    assert web and all(call.to_number == "" and call.cost > 0 for call in web)


@pytest.mark.parametrize("slug", ["audian", "vobiz"])
def test_the_ledger_bills_each_call_once(sandbox, slug):
    account = sandbox.account(slug)
    held = {call["id"]: Decimal(call["cost"]) for call in sandbox.state.calls_page(account)[0]}
    rows = [row for row in sandbox.state.transactions(account) if row.get("call_id")]
    assert sorted(row["call_id"] for row in rows) == sorted(held)
    assert sum(Decimal(row["amount"]) for row in rows) == sum(held.values())
    with sandbox.adapter(slug) as adapter:
        usage = [t for t in adapter.iter_transactions() if t.kind == "usage"]
        costs = priced(adapter, read_all(adapter, *history(sandbox.state)))
    # Every usage row is a call's: the generic usage lines gave way to them.
    assert sum(t.amount for t in usage) == sum(costs.values())
    if slug == "vobiz":
        assert {t.reference for t in usage} == {f"cdr_{call_id}" for call_id in held}


@pytest.mark.parametrize("slug", ["audian", "tryvox"])
def test_calls_priced_late_stay_unpriced_until_the_provider_prices_them(sandbox, slug):
    account = sandbox.account(slug)
    balance = sandbox.state.balance(account)
    withheld = sandbox.state.withhold_call_prices(account, 4)
    with sandbox.adapter(slug) as adapter:
        calls = read_all(adapter, *history(sandbox.state))
        asked = [(call.upstream_id, call.started_at) for call in calls]
        assert set(adapter.price_calls(asked)) == {call.upstream_id for call in calls} - set(
            withheld
        )
        sandbox.state.post_call_prices(account)
        late = adapter.price_calls([pair for pair in asked if pair[0] in withheld])
    assert set(late) == set(withheld)
    held = {call["id"]: Decimal(call["cost"]) for call in sandbox.state.calls_page(account)[0]}
    assert {call_id: price.cost for call_id, price in late.items()} == {
        call_id: held[call_id] for call_id in withheld
    }
    assert sandbox.state.balance(account) == balance  # taken back, then billed again


@pytest.mark.parametrize("slug", ["vobiz", "ravan"])
def test_providers_that_price_every_call_refuse_the_late_price_knob(sandbox, slug):
    with pytest.raises(ValueError, match="with its price"):
        sandbox.state.withhold_call_prices(sandbox.account(slug), 1)


@pytest.mark.parametrize("slug", SLUGS)
def test_calls_added_later_come_in_the_next_window(sandbox, slug):
    account = sandbox.account(slug)
    cut = datetime.now(UTC).replace(microsecond=0)
    with sandbox.adapter(slug) as adapter:
        before = {call.upstream_id for call in read_all(adapter, history(sandbox.state)[0], cut)}
        added = sandbox.state.add_calls(
            account, 15, start=cut + timedelta(seconds=1), end=cut + timedelta(hours=2)
        )
        after = list(adapter.iter_calls(cut, cut + timedelta(hours=3)))
    assert added and before.isdisjoint(call["id"] for call in added)
    assert {call.upstream_id for call in after} == {call["id"] for call in added}


ENDLESS = {
    "vobiz": (
        "/api/v1",
        lambda q: {
            "success": True,
            "data": [
                {
                    "id": int(q.get("page", 1)) % 2,
                    "uuid": "u",
                    "total_cost": 1,
                    "currency": "INR",
                    "start_time": "2026-01-01T00:00:00Z",
                }
            ],
            "pagination": {"page": 1, "has_next": True},
        },
    ),
    "ravan": (
        "/api/v1",
        lambda q: {
            "success": True,
            "data": [{"id": "s1", "started_at": "2026-01-01T00:00:00Z"}],
            "meta": {"total": 10**9},
        },
    ),
    "tryvox": (
        "/v1",
        lambda q: {
            "calls": [{"call_uuid": "c1", "start_time": "2026-01-01T00:00:00Z"}],
            "pagination": {"page": 1, "total_pages": 10**6},
        },
    ),
    "audian": (
        "/v2",
        lambda q: {
            "status": "success",
            "data": [{"id": "x", "call_id": "c1", "timestamp": 1767225600}],
            "next_start_key": "B" if q.get("start_key") != "B" else "A",
        },
    ),
}


@pytest.mark.parametrize("slug", SLUGS)
def test_an_endless_call_listing_fails_as_such(slug):
    api_path, page = ENDLESS[slug]
    from portal.providers import adapter_class
    from portal.providers.base import AccountConfig

    with CannedServer(lambda method, path, query: (200, json.dumps(page(query)))) as origin:
        config = AccountConfig(f"{origin}{api_path}", "acct-real-0001", "key")
        with adapter_class(slug)(config) as adapter, pytest.raises(errors.EndlessListing):
            list(
                adapter.iter_calls(
                    datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
                )
            )


def test_a_large_account_is_served_by_index(sandbox):
    """The bench's shape, smaller: a page deep into many calls costs no scan."""
    state = build_state(numbers=40, transactions=20, inventory=2, calls=20_000)
    account = state.account("vobiz", sandbox.account("vobiz")["account_id"])
    state.calls_page(account, limit=1)  # builds the index once
    started = datetime.now(UTC)
    for page in range(200):
        state.calls_page(account, offset=page * 100, limit=100, newest_first=True)
    assert datetime.now(UTC) - started < timedelta(seconds=2)
