"""The provider-neutral sandbox core: a seeded world, real state changes, persistence,
faults and exact JSON. Provider shapes are covered by tests/contract."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from portal.providers.parsing import dumps
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.http import page_slice
from portal.providers.sandbox.state import (
    CatalogEntry,
    SandboxAccount,
    SandboxError,
    SandboxState,
    iso,
)

CATALOG = {
    "acme": [
        CatalogEntry("US", "CA", "+1415", 7, monthly_fee="1.25", setup_fee="1"),
        CatalogEntry("IN", "Karnataka", "+9180", 8, monthly_fee="300"),
    ]
}
ACCOUNT = SandboxAccount("acme", "acc_1", "secret-1", balance="10", allowed_countries=["US"])


def world(path=None, seed=1):
    return SandboxState.generate(
        CATALOG, [ACCOUNT], seed=seed, numbers=4, transactions=10, inventory=10, path=path
    )


def test_the_same_seed_gives_the_same_world():
    first, second = world(), world()
    for state in (first, second):
        state.data.pop("anchor")
    assert first.data == second.data
    assert world(seed=2).data["inventory"] != first.data["inventory"]


def test_a_world_has_owned_numbers_inventory_and_a_ledger():
    state = world()
    account = state.account("acme", "acc_1")
    assert len(state.owned_numbers(account)) == 4
    assert len(state.search_inventory("acme", country="US")) == 9  # one in ten is taken
    assert len(state.transactions(account)) == 10


def test_buying_moves_the_number_debits_and_records():
    state = world()
    account = state.account("acme", "acc_1")
    offer = state.search_inventory("acme", country="US")[0]
    bought = state.buy(account, offer["e164"], label="Café")
    assert bought["status"] == "active" and bought["label"] == "Café"
    assert offer["e164"] not in {r["e164"] for r in state.search_inventory("acme")}
    assert state.balance(account) == Decimal("10") - Decimal("2.25")
    ledger = state.transactions(account)[-2:]
    assert [(row["kind"], row["amount"]) for row in ledger] == [
        ("debit", "1.0000"),
        ("recurring", "1.2500"),
    ]
    assert state.purchase_count(account) == 1
    with pytest.raises(SandboxError) as again:
        state.buy(account, offer["e164"])
    assert again.value.kind == SandboxError.NUMBER_UNAVAILABLE


@pytest.mark.parametrize(
    ("kind", "setup"),
    [
        (SandboxError.REGION_NOT_ALLOWED, lambda s: s.search_inventory("acme", country="IN")[0]),
        (SandboxError.NUMBER_UNAVAILABLE, lambda s: {"e164": s.data["taken"]["acme"][0]}),
        (SandboxError.NOT_IN_INVENTORY, lambda s: {"e164": "+14155550000"}),
        (SandboxError.INVALID_NUMBER, lambda s: {"e164": "4155550000"}),
    ],
)
def test_refusals_change_nothing(kind, setup):
    state = world()
    account = state.account("acme", "acc_1")
    before = dumps(state.data)
    with pytest.raises(SandboxError) as refused:
        state.buy(account, setup(state)["e164"])
    assert refused.value.kind == kind
    assert dumps(state.data) == before


def test_insufficient_funds_and_price_mismatch():
    state = world()
    account = state.account("acme", "acc_1")
    offer = state.search_inventory("acme", country="US")[0]
    with pytest.raises(SandboxError) as mismatch:
        state.buy(account, offer["e164"], expected_monthly_fee=Decimal("1.00"))
    assert mismatch.value.kind == SandboxError.PRICE_MISMATCH
    state.set_balance(account, "2.00")
    with pytest.raises(SandboxError) as poor:
        state.buy(account, offer["e164"])
    assert poor.value.kind == SandboxError.INSUFFICIENT_FUNDS


def test_release_and_label_change_state():
    state = world()
    account = state.account("acme", "acc_1")
    number = state.owned_numbers(account)[0]["e164"]
    assert state.set_label(account, number, "東京")["label"] == "東京"
    state.release(account, number)
    assert number not in {r["e164"] for r in state.owned_numbers(account)}
    assert state.owned_numbers(account, include_released=True)[0]["status"] in (
        "active",
        "released",
    )
    assert number in {r["e164"] for r in state.search_inventory("acme")}
    with pytest.raises(SandboxError) as gone:
        state.release(account, number)
    assert gone.value.kind == SandboxError.NOT_OWNED


def test_state_file_keeps_purchases_across_restarts(tmp_path):
    path = tmp_path / "sandbox.json"
    state = world(path)
    state.save()
    account = state.account("acme", "acc_1")
    offer = state.search_inventory("acme", country="US")[0]
    state.buy(account, offer["e164"])
    restarted = SandboxState.load(path)
    owned = {r["e164"] for r in restarted.owned_numbers(restarted.account("acme", "acc_1"))}
    assert offer["e164"] in owned
    assert restarted.purchase_count(restarted.account("acme", "acc_1")) == 1


def test_fault_headers_and_rates():
    faults = FaultConfig(seed=3)
    assert faults.plan({"x-sandbox-fault": "429"}).status == 429
    plan = faults.plan({"x-sandbox-fault": "drop-after-apply,short-page,delay=0.5"})
    assert plan.drop_after_apply and plan.short_page and plan.delay == 0.5
    assert faults.plan({"x-sandbox-fault": "delay-after-apply=2s"}).delay_after_apply == 2
    with pytest.raises(ValueError):
        faults.plan({"x-sandbox-fault": "explode"})
    rated = FaultConfig(rate=0.2, seed=7)
    hits = [rated.plan({}).status for _ in range(1000)]
    assert 150 < sum(1 for status in hits if status) < 250
    assert {status for status in hits if status} == {429, 500, 503}
    with pytest.raises(ValueError):
        FaultConfig(rate=1.5)


def test_dumps_writes_decimals_as_exact_json_numbers():
    text = dumps({"a": Decimal("0.0085"), "b": [Decimal("2.50")], "c": "0.1", "d": "\x00x"})
    assert text == '{"a": 0.0085, "b": [2.50], "c": "0.1", "d": "\\u0000x"}'


def test_owned_page_copies_one_page_and_counts_all():
    state = SandboxState.generate(CATALOG, [ACCOUNT], numbers=30, transactions=0, inventory=1)
    account = state.account("acme", "acc_1")
    every = [r["e164"] for r in state.owned_numbers(account)]
    assert every == sorted(every) and len(every) == 30
    page, total = state.owned_page(account, 10, 5)
    assert ([r["e164"] for r in page], total) == (every[10:15], 30)
    page[0]["capabilities"].append("fax")  # a copy: the state is untouched
    assert "fax" not in state.owned_number(account, every[10])["capabilities"]
    resumed, _ = state.owned_page(account, 0, 2, from_e164=every[20])
    assert [r["e164"] for r in resumed] == every[20:22]
    indian, total = state.owned_page(account, country="in")
    assert total == len(indian) and {r["country"] for r in indian} == {"IN"}
    state.release(account, every[0])
    assert state.owned_page(account)[1] == 29  # the change is seen at once
    released, total = state.owned_page(account, include_released=True, status="released")
    assert ([r["e164"] for r in released], total) == ([every[0]], 1)


def test_inventory_page_counts_all_matches():
    state = world()
    page, total = state.inventory_page("acme", 2, 3, country="US")
    assert total == 9
    assert page == state.search_inventory("acme", country="US")[2:5]


def test_page_slice_short_page_keeps_a_page_of_one():
    records = list(range(7))
    assert page_slice(records, 5, 5) == [5, 6]
    assert page_slice(records, 5, 5, short_page=True) == [5]
    assert page_slice(records, 6, 5, short_page=True) == [6]
    assert page_slice([3, 4], short_page=True) == [3]


def test_transactions_compare_times_not_text():
    # Seeded rows have whole seconds, purchases microseconds: as text "…:00Z" sorts after
    # "…:00.000005Z", the wrong way round.
    state = world()
    account = state.account("acme", "acc_1")
    seeded = state.transactions(account)[-1]
    second = datetime.fromisoformat(seeded["created_at"])
    posted = state.post_transaction(account, "usage", "0.5", "Outbound calls")
    state.data["transactions"]["acme:acc_1"][-1]["created_at"] = iso(
        second + timedelta(microseconds=5)
    )
    ids = [row["id"] for row in state.transactions(account)[-2:]]
    assert ids == [seeded["id"], posted["id"]]
    since = state.transactions(account, since=second + timedelta(microseconds=1))
    assert [row["id"] for row in since] == [posted["id"]]


def test_post_transaction_moves_the_balance():
    state = world()
    account = state.account("acme", "acc_1")
    state.post_transaction(
        account, "debit", Decimal("2.5"), "Early termination fee", "+14155550100"
    )
    state.post_transaction(account, "credit", "1", "Refund")
    assert state.balance(account) == Decimal("8.5")
    assert [row["kind"] for row in state.transactions(account)[-2:]] == ["debit", "credit"]
    with pytest.raises(ValueError):
        state.post_transaction(account, "gift", "1", "?")


def test_a_number_held_back_at_release_and_the_extension_store_persist(tmp_path):
    state = world(tmp_path / "sandbox.json")
    account = state.account("acme", "acc_1")
    number = state.owned_numbers(account)[0]["e164"]
    state.release(account, number, on_sale=False)
    state.extension("acme")["held"] = [number]
    state.save()
    with pytest.raises(SandboxError) as held:
        state.buy(account, number)
    assert held.value.kind == SandboxError.NUMBER_UNAVAILABLE
    restarted = SandboxState.load(tmp_path / "sandbox.json")
    account = restarted.account("acme", "acc_1")
    assert restarted.extension("acme") == {"held": [number]}
    assert restarted.reinstate(account, number)["status"] == "active"
    restarted.release(account, number, on_sale=False)
    restarted.put_on_sale(account, number)
    assert number in {r["e164"] for r in restarted.search_inventory("acme")}
    with pytest.raises(SandboxError):
        restarted.put_on_sale(account, number)
