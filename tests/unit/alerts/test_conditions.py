"""Each rule kind's condition: true, false, and silent where the portal does not know
(no balance read, no threshold or budget set, a fee or a date it does not have)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts.conditions import CONDITIONS
from alerts.conditions.idle import week_of
from alerts.models import Rule
from numbers.models import NumberOrder, PhoneNumber
from numbers.selectors.renewals import renewal_dates
from portal.models import SyncRun
from tests.support.factories import (
    BalanceSnapshotFactory,
    NumberOrderFactory,
    PhoneNumberFactory,
    RuleFactory,
    SyncRunFactory,
    TransactionFactory,
    calls_on,
    calls_synced,
    provider_account,
)

pytestmark = pytest.mark.django_db


def findings(kind, now=None, account=None, **parameters):
    rule = RuleFactory(kind=kind, **parameters)
    found = CONDITIONS[kind](rule, now=now or timezone.now(), account=account)
    return {finding.subject: finding for finding in found}


def subject(account):
    return f"account:{account.pk}"


# --- balance below threshold ------------------------------------------------------------------


def test_low_balance_fires_under_the_threshold_and_never_on_what_is_unknown():
    low = provider_account("audian", name="Low", low_balance_threshold=Decimal(50))
    fine = provider_account("audian", name="Fine", low_balance_threshold=Decimal(50))
    no_threshold = provider_account("audian", name="No threshold")
    unread = provider_account("audian", name="Unread", low_balance_threshold=Decimal(50))
    other_currency = provider_account(
        "vobiz", name="India", currency="INR", low_balance_threshold=Decimal(5000)
    )
    inactive = provider_account(
        "audian", name="Closed", low_balance_threshold=Decimal(50), is_active=False
    )
    BalanceSnapshotFactory(account=low, balance=Decimal("12.5"))
    BalanceSnapshotFactory(account=fine, balance=Decimal("50"))  # at the threshold: not below
    BalanceSnapshotFactory(account=no_threshold, balance=Decimal("0"))
    # A balance in a currency other than the account's cannot be held against its threshold.
    BalanceSnapshotFactory(account=other_currency, balance=Decimal("10"), currency="USD")
    BalanceSnapshotFactory(account=inactive, balance=Decimal("1"))

    found = findings(Rule.Kind.LOW_BALANCE)

    assert set(found) == {subject(low)}
    finding = found[subject(low)]
    assert finding.account == low
    assert finding.facts["balance"] == "12.50"
    assert finding.facts["threshold"] == "50.00"
    assert finding.facts["currency"] == "USD"
    assert finding.facts["account"] == "Audian · Low"
    assert finding.summary == (
        "Audian · Low: balance 12.50 USD is below the threshold of 50.00 USD"
    )
    assert unread.pk and no_threshold.pk  # present, and silent


def test_low_balance_for_one_account_looks_at_that_account_only():
    first = provider_account("audian", name="First", low_balance_threshold=Decimal(50))
    second = provider_account("audian", name="Second", low_balance_threshold=Decimal(50))
    for account in (first, second):
        BalanceSnapshotFactory(account=account, balance=Decimal(1))
    assert set(findings(Rule.Kind.LOW_BALANCE, account=second)) == {subject(second)}


# --- runway ------------------------------------------------------------------------------------


def test_runway_fires_when_the_balance_runs_out_within_the_days():
    now = timezone.now()
    short = provider_account("audian", name="Short")
    long = provider_account("audian", name="Long")
    still = provider_account("audian", name="Still")
    for account, balance in ((short, 100), (long, 200), (still, 5)):
        BalanceSnapshotFactory(account=account, balance=Decimal(balance))
    for account in (short, long):  # 300 spent in 30 days: 10 a day
        TransactionFactory(
            account=account, amount=Decimal(300), occurred_at=now - timedelta(days=3)
        )
    # `still` spent nothing: its balance is not falling, and has no runway to run out.

    found = findings(Rule.Kind.RUNWAY, now=now, days=14)

    assert set(found) == {subject(short)}
    facts = found[subject(short)].facts
    assert facts["days_left"] == "10"
    assert facts["burn_per_day"] == "10.00"
    assert facts["days"] == "14"
    assert facts["runs_out_on"] == (timezone.localdate(now) + timedelta(days=10)).isoformat()
    assert findings(Rule.Kind.RUNWAY, now=now, days=None) == {}


# --- renewals at risk --------------------------------------------------------------------------


def ravan_number(account, *, bought_days_ago, now, fee="1.15", **fields):
    fields.setdefault("purchased_at", now - timedelta(days=bought_days_ago))
    return PhoneNumberFactory(
        account=account,
        period_fee=None if fee is None else Decimal(fee),
        rental_period_days=28,
        monthly_fee=None if fee is None else Decimal(fee) * Decimal("365.25") / 12 / 28,
        **fields,
    )


def test_renewal_dates_are_the_purchase_plus_whole_periods():
    now = timezone.now()
    bought = now - timedelta(days=60)
    # Bought 60 days ago: renewed 32 days ago and 4 days ago; next in 24 days, then 52.
    assert renewal_dates(bought, 28, after=now, until=now + timedelta(days=30)) == [
        bought + timedelta(days=84)
    ]
    assert renewal_dates(bought, 28, after=now - timedelta(days=40), until=now) == [
        bought + timedelta(days=28),
        bought + timedelta(days=56),
    ]
    # Bought just now: the purchase paid the first period.
    assert renewal_dates(now, 28, after=now, until=now + timedelta(days=27)) == []


def test_renewals_at_risk_when_the_balance_cannot_pay_those_due_within_the_window():
    now = timezone.now()
    ravan = provider_account("ravan", name="Voice agents")
    BalanceSnapshotFactory(account=ravan, balance=Decimal("2.00"))
    ravan_number(ravan, bought_days_ago=25, now=now)  # renews in 3 days
    ravan_number(ravan, bought_days_ago=50, now=now, fee="2.50")  # renews in 6 days
    ravan_number(ravan, bought_days_ago=10, now=now, fee="9.00")  # in 18 days: outside
    ravan_number(
        ravan,
        bought_days_ago=30,
        now=now,
        fee="9.00",
        status="released",
        released_at=now - timedelta(days=1),
    )

    found = findings(Rule.Kind.RENEWAL_AT_RISK, now=now, days=7)

    facts = found[subject(ravan)].facts
    assert facts["due"] == "3.65"
    assert facts["balance"] == "2.00"
    assert facts["renewals"] == "2"
    assert facts["unknown_fees"] == "0"
    # 2.00 pays the 1.15 due in 3 days, not the 2.50 due in 6: that number goes 48 h later.
    first_unpaid = now - timedelta(days=50) + timedelta(days=56)
    assert facts["first_unpaid_renewal"] == first_unpaid.isoformat()
    assert facts["released_after"] == (first_unpaid + timedelta(hours=48)).isoformat()
    assert "3.65 USD due within 7 days" in found[subject(ravan)].summary

    BalanceSnapshotFactory(
        account=ravan, balance=Decimal("3.65"), taken_at=timezone.now() + timedelta(minutes=1)
    )
    assert findings(Rule.Kind.RENEWAL_AT_RISK, now=now, days=7) == {}


def test_a_renewal_of_unknown_fee_or_date_is_counted_apart_never_as_zero():
    now = timezone.now()
    ravan = provider_account("ravan", name="Voice agents")
    BalanceSnapshotFactory(account=ravan, balance=Decimal("0.50"))
    ravan_number(ravan, bought_days_ago=25, now=now, fee=None)
    ravan_number(ravan, bought_days_ago=0, now=now, purchased_at=None)
    # Only unknown fees are due: whether 0.50 pays them is not known, so nothing fires.
    assert findings(Rule.Kind.RENEWAL_AT_RISK, now=now, days=7) == {}

    ravan_number(ravan, bought_days_ago=24, now=now, fee="1.15")
    found = findings(Rule.Kind.RENEWAL_AT_RISK, now=now, days=7)
    facts = found[subject(ravan)].facts
    assert facts["due"] == "1.15"
    assert facts["unknown_fees"] == "1"
    assert facts["numbers_without_purchase_date"] == "1"
    assert "1 more renewal of unknown fee" in found[subject(ravan)].summary


def test_a_suspended_number_in_its_grace_still_has_its_renewal_to_pay():
    now = timezone.now()
    ravan = provider_account("ravan", name="Voice agents")
    BalanceSnapshotFactory(account=ravan, balance=Decimal("1.00"))
    # Its renewal was 20 hours ago and could not be paid: released 28 hours from now.
    number = ravan_number(
        ravan, bought_days_ago=28, now=now + timedelta(hours=-20), status="suspended"
    )
    found = findings(Rule.Kind.RENEWAL_AT_RISK, now=now, days=1)
    facts = found[subject(ravan)].facts
    assert facts["first_unpaid_number"] == number.number
    assert facts["released_after"] == (now + timedelta(hours=28)).isoformat()


def test_renewals_are_not_watched_where_the_provider_bills_by_the_month():
    now = timezone.now()
    audian = provider_account("audian", name="Main")
    BalanceSnapshotFactory(account=audian, balance=Decimal("0"))
    PhoneNumberFactory(
        account=audian,
        purchased_at=now - timedelta(days=25),
        period_fee=Decimal(5),
        rental_period_days=28,
    )
    assert findings(Rule.Kind.RENEWAL_AT_RISK, now=now, days=7) == {}


def test_a_negative_balance_with_no_renewal_due_in_the_window_is_not_at_risk():
    now = timezone.now()
    ravan = provider_account("ravan", name="Voice agents")
    BalanceSnapshotFactory(account=ravan, balance=Decimal("-5.00"))
    ravan_number(ravan, bought_days_ago=2, now=now)  # renews in 26 days
    assert findings(Rule.Kind.RENEWAL_AT_RISK, now=now, days=7) == {}
    ravan_number(ravan, bought_days_ago=25, now=now)  # renews in 3 days: unpaid
    assert set(findings(Rule.Kind.RENEWAL_AT_RISK, now=now, days=7)) == {subject(ravan)}


def test_renewals_without_a_balance_read_do_not_fire():
    now = timezone.now()
    ravan = provider_account("ravan", name="Voice agents")
    ravan_number(ravan, bought_days_ago=25, now=now)
    assert findings(Rule.Kind.RENEWAL_AT_RISK, now=now, days=7) == {}


# --- spend over budget -------------------------------------------------------------------------


def test_spend_this_month_above_the_budget_in_the_accounts_currency():
    now = timezone.now()
    over = provider_account("audian", name="Over", monthly_budget=Decimal(100))
    under = provider_account("audian", name="Under", monthly_budget=Decimal(100))
    unbudgeted = provider_account("audian", name="No budget")
    india = provider_account("vobiz", name="India", currency="INR", monthly_budget=Decimal(100))
    for account, amount in ((over, "100.01"), (under, "99.99"), (unbudgeted, "5000")):
        TransactionFactory(account=account, amount=Decimal(amount), occurred_at=now)
    # 500 USD charged to an INR account is not 500 INR: never compared across currencies.
    TransactionFactory(account=india, amount=Decimal(500), currency="USD", occurred_at=now)
    # Money in is not spend.
    TransactionFactory(account=under, kind="credit", amount=Decimal(1000), occurred_at=now)

    found = findings(Rule.Kind.SPEND_OVER_BUDGET, now=now)

    assert set(found) == {subject(over)}
    facts = found[subject(over)].facts
    assert facts["spend"] == "100.01"
    assert facts["budget"] == "100.00"
    assert facts["currency"] == "USD"
    assert facts["month"] == f"{timezone.localdate(now):%Y-%m}"


def test_last_months_spend_does_not_count_against_this_months_budget():
    now = timezone.now()
    account = provider_account("audian", name="Main", monthly_budget=Decimal(10))
    start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    TransactionFactory(account=account, amount=Decimal(50), occurred_at=start - timedelta(hours=1))
    assert findings(Rule.Kind.SPEND_OVER_BUDGET, now=now) == {}


# --- sync failing ------------------------------------------------------------------------------


def runs(account, *statuses, now):
    """Finished runs of the account, oldest first, an hour apart, the last ending at `now`."""
    for index, status in enumerate(statuses):
        at = now - timedelta(hours=len(statuses) - index)
        SyncRunFactory(
            account=account,
            status=status,
            started_at=at,
            finished_at=at,
            error="" if status == "succeeded" else "Audian: 503 from /numbers",
        )


def test_sync_failing_after_failed_runs_in_a_row_or_hours_without_success():
    now = timezone.now()
    healthy = provider_account("audian", name="Healthy")
    failing = provider_account("audian", name="Failing")
    recovered = provider_account("audian", name="Recovered")
    runs(healthy, "succeeded", "failed", "failed", now=now)
    runs(failing, "succeeded", "failed", "interrupted", "failed", now=now)
    runs(recovered, "failed", "failed", "failed", "succeeded", now=now)

    found = findings(Rule.Kind.SYNC_FAILING, now=now, hours=24, failed_runs=3)

    assert set(found) == {subject(failing)}
    facts = found[subject(failing)].facts
    assert facts["failed_in_a_row"] == "3"
    assert facts["last_error"] == "Audian: 503 from /numbers"
    assert found[subject(failing)].summary == "Audian · Failing: the last 3 syncs failed"

    # A day later with no new run, every account is a day without a successful sync.
    later = findings(Rule.Kind.SYNC_FAILING, now=now + timedelta(hours=25), hours=24)
    assert set(later) == {subject(healthy), subject(failing), subject(recovered)}
    assert "no successful sync for more than 24 hours" in later[subject(healthy)].summary


def test_an_account_never_synced_counts_from_when_it_was_added():
    now = timezone.now()
    account = provider_account("audian", name="New")
    assert findings(Rule.Kind.SYNC_FAILING, now=now, hours=24) == {}
    found = findings(Rule.Kind.SYNC_FAILING, now=now + timedelta(hours=25), hours=24)
    assert found[subject(account)].summary == "Audian · New: no successful sync since it was added"
    assert found[subject(account)].facts["last_success"] == ""


def test_a_partial_sync_is_no_success_but_no_failure_in_a_row():
    now = timezone.now()
    account = provider_account("audian", name="Partial")
    runs(account, "failed", "failed", "partial", "failed", now=now)
    assert findings(Rule.Kind.SYNC_FAILING, now=now, failed_runs=3) == {}
    assert SyncRun.objects.filter(account=account).count() == 4


# --- unknown purchases -------------------------------------------------------------------------


def test_purchases_unknown_for_longer_than_the_minutes():
    now = timezone.now()
    account = provider_account("ravan", name="Voice agents")
    old = NumberOrderFactory(
        account=account, state=NumberOrder.State.UNKNOWN, number="+13612738809"
    )
    NumberOrder.objects.filter(pk=old.pk).update(submitted_at=now - timedelta(minutes=31))
    fresh = NumberOrderFactory(account=account, state=NumberOrder.State.UNKNOWN)
    NumberOrder.objects.filter(pk=fresh.pk).update(submitted_at=now - timedelta(minutes=29))
    settled = NumberOrderFactory(account=account, state=NumberOrder.State.FAILED)
    NumberOrder.objects.filter(pk=settled.pk).update(submitted_at=now - timedelta(hours=3))

    found = findings(Rule.Kind.UNKNOWN_PURCHASES, now=now, minutes=30)

    assert set(found) == {f"order:{old.pk}"}
    finding = found[f"order:{old.pk}"]
    assert finding.account == account
    assert finding.facts["number"] == "+13612738809"
    assert finding.summary == (
        "Ravan · Voice agents: the purchase of +1 361-273-8809 is still unknown after 30 minutes"
    )


# --- idle digest -------------------------------------------------------------------------------


def test_the_idle_digest_counts_numbers_without_calls_and_their_cost_per_currency():
    now = timezone.now()
    usd = calls_synced(provider_account("audian", name="Main"))
    inr = calls_synced(provider_account("vobiz", name="India", currency="INR"))
    unsynced = provider_account("tryvox", name="Unsynced")
    long_ago = now - timedelta(days=90)
    PhoneNumberFactory(account=usd, purchased_at=long_ago, monthly_fee=Decimal("1.00"))
    PhoneNumberFactory(account=usd, purchased_at=long_ago, monthly_fee=None)
    PhoneNumberFactory(
        account=inr,
        purchased_at=long_ago,
        monthly_fee=Decimal("100"),
        number="+912240000001",
        country="IN",
    )
    called = PhoneNumberFactory(account=usd, purchased_at=long_ago, monthly_fee=Decimal(7))
    calls_on(called, timezone.localdate(now) - timedelta(days=2))
    # Usage not synced: unknown, so not idle.
    PhoneNumberFactory(account=unsynced, purchased_at=long_ago, monthly_fee=Decimal(9))
    PhoneNumberFactory(
        account=usd,
        purchased_at=long_ago,
        monthly_fee=Decimal(9),
        status=PhoneNumber.Status.RELEASED,
        released_at=now,
    )

    found = findings(Rule.Kind.IDLE_DIGEST, now=now, days=60)

    week = week_of(now)
    assert set(found) == {f"portal:idle:{week}"}
    digest = found[f"portal:idle:{week}"]
    assert digest.account is None
    assert digest.facts["numbers"] == "3"
    assert digest.facts["unknown_fees"] == "1"
    assert digest.facts["monthly_cost_USD"] == "1.00"
    assert digest.facts["monthly_cost_INR"] == "100.00"
    assert digest.facts["monthly_cost"] == "100.00 INR, 1.00 USD"
    # Each week is its own digest.
    next_week = findings(Rule.Kind.IDLE_DIGEST, now=now + timedelta(days=7), days=60)
    assert set(next_week) == {f"portal:idle:{week_of(now + timedelta(days=7))}"}
    assert week_of(now) != week_of(now + timedelta(days=7))
    # A digest of the whole portal: not made for one account's sync.
    assert findings(Rule.Kind.IDLE_DIGEST, now=now, days=60, account=usd) == {}


def test_an_idle_digest_whose_fees_are_all_unknown_in_a_currency_shows_no_zero_cost():
    now = timezone.now()
    usd = calls_synced(provider_account("audian", name="Main"))
    inr = calls_synced(provider_account("vobiz", name="India", currency="INR"))
    long_ago = now - timedelta(days=90)
    PhoneNumberFactory(account=usd, purchased_at=long_ago, monthly_fee=None)
    PhoneNumberFactory(
        account=inr, purchased_at=long_ago, monthly_fee=Decimal("100"), number="+912240000001"
    )

    [digest] = findings(Rule.Kind.IDLE_DIGEST, now=now, days=60).values()

    assert "monthly_cost_USD" not in digest.facts
    assert digest.facts["monthly_cost"] == "100.00 INR"
    assert "USD" not in digest.summary
    assert digest.summary.endswith(
        "cost 100.00 INR a month (1 of them of unknown fee, not counted)"
    )

    PhoneNumber.objects.filter(account=inr).update(monthly_fee=None)
    [digest] = findings(Rule.Kind.IDLE_DIGEST, now=now, days=60).values()
    assert digest.summary == "2 numbers with no calls in 60 days, at a cost not known"


def test_no_idle_digest_when_every_number_is_called():
    now = timezone.now()
    account = calls_synced(provider_account("audian", name="Main"))
    number = PhoneNumberFactory(account=account, purchased_at=now - timedelta(days=90))
    calls_on(number, timezone.localdate(now))
    assert findings(Rule.Kind.IDLE_DIGEST, now=now, days=60) == {}
