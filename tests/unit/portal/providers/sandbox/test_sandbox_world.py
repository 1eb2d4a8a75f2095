"""The seeded world reads like a reseller's: labelled numbers, six months of billing that
adds up to the balance, and the same world for the same seed."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from portal.providers.sandbox.state import CatalogEntry, SandboxAccount, SandboxState
from portal.providers.sandbox.world import LEDGER_MONTHS, add_months

CATALOG = {
    "acme": [
        CatalogEntry("US", "CA", "+1415", 7, monthly_fee="1.25", setup_fee="1"),
        CatalogEntry("IN", "Karnataka", "+9180", 8, monthly_fee="300", setup_fee="0"),
    ]
}


NOW = datetime(2026, 3, 31, 10, 30, tzinfo=UTC)  # a month end: renewals on 28-31


def world(numbers=40, transactions=300, balance="150", seed=1):
    account = SandboxAccount("acme", "acc_1", "secret-1", balance=balance)
    state = SandboxState.generate(
        CATALOG,
        [account],
        seed=seed,
        numbers=numbers,
        transactions=transactions,
        inventory=10,
        now=NOW,
    )
    return state, state.account("acme", "acc_1")


def signed(row) -> Decimal:
    return Decimal(row["amount"]) * (1 if row["kind"] == "credit" else -1)


def test_about_half_the_owned_numbers_are_labelled_and_no_offer_is():
    state, account = world(numbers=400)
    labels = [record["label"] for record in state.owned_numbers(account)]
    assert 150 < sum(1 for label in labels if label) < 250
    assert any(label.startswith("CC-") for label in labels)
    assert any(" \u2013 " in label for label in labels)
    shared = Counter(label for label in labels if label)
    assert shared.most_common(1)[0][1] > 1  # a customer has several numbers
    assert not any(record["label"] for record in state.search_inventory("acme"))


@pytest.mark.parametrize(("numbers", "transactions"), [(40, 300), (3, 250), (25, 40), (0, 7)])
def test_the_ledger_has_the_rows_asked_for_and_adds_up_to_the_balance(numbers, transactions):
    state, account = world(numbers=numbers, transactions=transactions)
    rows = state.transactions(account)
    assert len(rows) == transactions
    held = state.balance(account) - sum(signed(row) for row in rows)  # the opening balance
    for row in rows:
        assert Decimal(row["amount"]) > 0
        held += signed(row)
        assert held >= 0  # a prepaid account never goes below zero
    assert held == state.balance(account) == Decimal("150")


def test_the_ledger_is_six_months_of_rentals_setup_fees_usage_and_top_ups():
    state, account = world(numbers=40, transactions=300)
    rows = state.transactions(account)
    start = add_months(state.anchor, -LEDGER_MONTHS)
    times = [datetime.fromisoformat(row["created_at"]) for row in rows]
    assert start <= min(times) and max(times) <= state.anchor
    kinds = Counter(row["kind"] for row in rows)
    assert kinds["credit"] == 300 // 20 and kinds["usage"] >= LEDGER_MONTHS
    usage_months = {row["created_at"][:7] for row in rows if row["kind"] == "usage"}
    assert len(usage_months) >= LEDGER_MONTHS
    owned = {record["e164"]: record for record in state.owned_numbers(account)}
    for e164 in {row["e164"] for row in rows if row["kind"] == "recurring"}:
        record = owned[e164]
        bought = datetime.fromisoformat(record["purchased_at"])
        renewals = [
            datetime.fromisoformat(row["created_at"])
            for row in rows
            if row["kind"] == "recurring" and row["e164"] == e164
        ]
        expected = [add_months(bought, m) for m in range(30)]
        assert renewals == [when for when in expected if start <= when <= state.anchor]
        rentals = [row for row in rows if row["kind"] == "recurring" and row["e164"] == e164]
        assert {row["amount"] for row in rentals} == {record["monthly_fee"]}
        setup = [row for row in rows if row["kind"] == "debit" and row["e164"] == e164]
        if bought >= start and Decimal(record["setup_fee"]):
            assert [row["created_at"] for row in setup] == [record["purchased_at"]]
        else:
            assert setup == []


def test_usage_is_charged_to_a_number_held_at_the_time():
    state, account = world(numbers=40, transactions=300)
    bought = {
        record["e164"]: datetime.fromisoformat(record["purchased_at"])
        for record in state.owned_numbers(account)
    }
    for row in state.transactions(account):
        if row["kind"] == "usage" and row["e164"]:
            assert bought[row["e164"]] <= datetime.fromisoformat(row["created_at"])


def test_the_same_seed_gives_the_same_labels_and_ledger():
    first, second, other = world()[0], world()[0], world(seed=2)[0]
    assert first.data["owned"] == second.data["owned"]
    assert first.data["transactions"] == second.data["transactions"]
    assert first.data["owned"] != other.data["owned"]


def test_add_months_keeps_the_day_or_takes_the_last_of_a_shorter_month():
    assert add_months(datetime(2025, 1, 31, 9), 1) == datetime(2025, 2, 28, 9)
    assert add_months(datetime(2024, 3, 15), -13) == datetime(2023, 2, 15)
    assert add_months(datetime(2024, 12, 1), 1) - datetime(2024, 12, 1) == timedelta(days=31)
