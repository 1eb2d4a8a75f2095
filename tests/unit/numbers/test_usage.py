"""A number's usage from the rollups: its calls over 30, 90 and 365 days and per month, on its
page and in the numbers list; which numbers are idle; and usage that is unknown (call
records not synced, or not published) shown as unknown, never as zero."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from numbers.models import PhoneNumber
from numbers.selectors.usage import (
    UsageState,
    idle_numbers,
    today,
    usage_by_month,
    usage_state,
    usage_windows,
)
from portal.providers.audian.adapter import AudianAdapter
from portal.providers.capabilities import Capability
from tests.support.factories import (
    PhoneNumberFactory,
    ProviderAccountFactory,
    ProviderFactory,
    calls_on,
    calls_synced,
    provider_account,
)

LIST = reverse("numbers:list")


@pytest.fixture
def account(db):
    return calls_synced(provider_account("audian", name="Audian main"))


def days_ago(days):
    return today() - timedelta(days=days)


def held(account, days=400, **fields):
    return PhoneNumberFactory(
        account=account, purchased_at=timezone.now() - timedelta(days=days), **fields
    )


# --- Idle ---------------------------------------------------------------------------------


def test_a_number_called_only_before_the_window_is_idle_and_one_called_inside_it_is_not(
    account,
):
    before, inside, never = held(account), held(account), held(account)
    calls_on(before, days_ago(61))
    calls_on(inside, days_ago(59))
    assert set(idle_numbers(60)) == {before, never}
    assert set(idle_numbers(58)) == {before, inside, never}
    assert set(idle_numbers(62)) == {never}


def test_released_numbers_are_never_idle(account):
    held(
        account,
        status=PhoneNumber.Status.RELEASED,
        released_at=timezone.now() - timedelta(days=300),
    )
    assert not idle_numbers(60).exists()


def test_numbers_of_an_account_whose_calls_were_never_synced_are_not_judged(account):
    unsynced = ProviderAccountFactory(provider=account.provider, name="Never synced")
    held(unsynced)
    judged = held(account)
    assert list(idle_numbers(60)) == [judged]


def test_a_number_held_for_less_than_the_days_is_not_idle_one_of_unknown_purchase_is(
    account,
):
    held(account, days=30)
    unknown_purchase = PhoneNumberFactory(account=account, purchased_at=None)
    assert list(idle_numbers(60)) == [unknown_purchase]


# --- A number's usage ---------------------------------------------------------------------


def test_usage_windows_sum_each_period_and_keep_currencies_apart(account):
    number = held(account)
    calls_on(number, days_ago(0), calls=2, billed_seconds=90, cost="0.0200")
    calls_on(number, days_ago(29), calls=1, cost="0.0100", unpriced=1)
    calls_on(number, days_ago(45), calls=3, billed_seconds=600, cost="1.5000", currency="INR")
    calls_on(number, days_ago(364), calls=1, cost="0.0050")
    calls_on(number, days_ago(365), calls=7, cost="9.0000")  # a day past the year
    windows = {window.days: window.usage for window in usage_windows(number)}
    assert windows[30].calls == 3
    assert windows[30].unpriced_calls == 1
    assert windows[30].costs == {"USD": Decimal("0.03")}
    assert windows[90].calls == 6
    assert windows[90].costs == {"USD": Decimal("0.03"), "INR": Decimal("1.5")}
    assert windows[90].billed_minutes == Decimal("12.5")  # 750 s
    assert windows[365].calls == 7
    assert windows[365].costs["USD"] == Decimal("0.035")


def test_usage_by_month_has_every_month_oldest_first(account):
    number = held(account)
    this_month = today().replace(day=1)
    calls_on(number, this_month, calls=4)
    months = usage_by_month(number)
    assert len(months) == 12
    assert months[-1].month == this_month
    assert months[-1].usage.calls == 4
    assert [month.usage.calls for month in months[:-1]] == [0] * 11
    assert months == sorted(months, key=lambda month: month.month)


def test_usage_is_unknown_until_the_account_is_synced_and_never_where_it_is_not_published(
    db, monkeypatch
):
    handmade = ProviderAccountFactory(provider=ProviderFactory(slug="handmade", name="Handmade"))
    assert usage_state(handmade) is UsageState.NOT_PUBLISHED
    audian = provider_account("audian")
    monkeypatch.setattr(
        AudianAdapter, "capabilities", AudianAdapter.capabilities | {Capability.CALL_RECORDS}
    )
    assert usage_state(audian) is UsageState.NOT_SYNCED
    assert usage_state(calls_synced(audian)) is UsageState.KNOWN


def test_the_number_page_shows_its_calls_cost_unpriced_calls_and_months(
    client, finance_user, account
):
    number = held(account)
    calls_on(number, days_ago(2), calls=5, billed_seconds=300, cost="0.1250", unpriced=2)
    client.force_login(finance_user)
    response = client.get(number.get_absolute_url())
    html = response.content.decode()
    usage = response.context["usage"]
    assert usage.known
    assert [window.usage.calls for window in usage.windows] == [5, 5, 5]
    assert "5 calls" in html
    assert "0.125 USD" in html
    assert "2 calls not priced yet, not in the cost" in html
    assert 'data-testid="last-call"' in html
    # The chart's data, and the table it is drawn from for those without JavaScript.
    chart = json.loads(html.split('id="usage-chart" type="application/json">')[1].split("<")[0])
    assert sum(chart["datasets"][0]["data"]) == 5
    assert chart["unit"] == "calls"
    assert 'data-testid="usage-months"' in html
    assert '<div class="chart-box chart-box-small" hidden>' in html


def test_the_number_page_without_calls_says_so_without_a_chart(client, finance_user, account):
    number = held(account)
    client.force_login(finance_user)
    html = client.get(number.get_absolute_url()).content.decode()
    assert "No calls in the last 12 months." in html
    assert "0 calls" in html
    assert "charts.js" not in html


def test_the_number_page_says_when_call_records_are_not_synced_or_not_published(
    client, finance_user, db, monkeypatch
):
    client.force_login(finance_user)
    handmade = ProviderAccountFactory(provider=ProviderFactory(slug="handmade", name="Handmade"))
    html = client.get(PhoneNumberFactory(account=handmade).get_absolute_url()).content.decode()
    assert "Handmade publishes no call records" in html
    monkeypatch.setattr(
        AudianAdapter, "capabilities", AudianAdapter.capabilities | {Capability.CALL_RECORDS}
    )
    audian = provider_account("audian", name="Audian main")
    html = client.get(PhoneNumberFactory(account=audian).get_absolute_url()).content.decode()
    assert "Call records not synced yet for Audian main" in html
    assert "0 calls" not in html


# --- The numbers list ---------------------------------------------------------------------


def test_the_list_shows_calls_in_30_days_and_the_last_call_unknown_as_a_dash(
    client, support_user, account
):
    busy, quiet = held(account, number="+14155550100"), held(account, number="+14155550101")
    calls_on(busy, days_ago(3), calls=4)
    calls_on(busy, days_ago(31), calls=9)  # before the 30 days
    unsynced = PhoneNumberFactory(
        account=ProviderAccountFactory(provider=account.provider), number="+14155550102"
    )
    client.force_login(support_user)
    response = client.get(LIST, {"sort": "number"})
    table = response.context["table"]
    cells = {
        row.record.number: (row.get_cell("calls_30d"), row.get_cell("last_call_at"))
        for row in table.paginated_rows
    }
    assert cells[busy.number] == ("4", days_ago(3).isoformat())
    assert cells[quiet.number][0] == "0"
    assert "Never" in cells[quiet.number][1]
    assert "usage unknown" in cells[unsynced.number][0]
    assert "usage unknown" in cells[unsynced.number][1]


def test_the_list_filters_numbers_with_no_calls_in_n_days(client, support_user, account):
    called, idle = held(account), held(account)
    calls_on(called, days_ago(10))
    client.force_login(support_user)
    shown = [
        row.record for row in client.get(LIST, {"idle_days": "30"}).context["table"].paginated_rows
    ]
    assert shown == [idle]
    shown = client.get(LIST, {"idle_days": "5"}).context["table"].paginated_rows
    assert {row.record for row in shown} == {called, idle}


def test_calls_in_30_days_is_not_sortable(client, support_user, account):
    client.force_login(support_user)
    table = client.get(LIST).context["table"]
    assert not table.columns["calls_30d"].orderable
    assert table.columns["last_call_at"].orderable
