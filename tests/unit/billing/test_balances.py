"""Balances: runway and warnings for sandbox accounts drained by purchases (every expected
figure worked out here from the sandbox's ledger), the trend in the configured time zone,
thresholds set by admins with an audit trail, and who may see it all."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Transaction
from billing.selectors.balances import balance_trend, balances_with_runway
from portal.models import AuditEvent, ProviderAccount
from portal.money import format_money as money
from portal.providers.sandbox import build_state
from portal.providers.sandbox.state import SandboxAccount
from portal.roles import SUPPORT
from portal.services.sync import sync_account
from tests.support.factories import (
    BalanceSnapshotFactory,
    ProviderAccountFactory,
    ProviderFactory,
    TransactionFactory,
    grant,
    provider_account,
)
from tests.support.reports import ReportTables
from tests.support.world import buy_until, in_process

ZERO = Decimal(0)
WINDOW = timedelta(days=30)


@pytest.fixture
def world(db):
    return in_process(build_state(numbers=10, transactions=30, inventory=10))


def expected_runway(ledger, balance, threshold):
    """Burn per day, days left and days to the threshold, from the ledger's rows of the last
    30 days: charges less credits, over 30 days; whole days only."""
    since = timezone.now() - WINDOW
    net = ZERO
    for row in ledger:
        if datetime.fromisoformat(row["created_at"]) > since:
            amount = Decimal(row["amount"])
            net += -amount if row["kind"] == "credit" else amount
    burn = net / 30
    return burn, int(balance / burn), int((balance - threshold) / burn)


@pytest.fixture
def drained(world):
    """Vobiz (INR) bought down below its 5,000 INR threshold; a second Audian account (USD),
    new with 120 USD, bought down to under 85 USD with a 70 USD threshold: at that pace it
    is under its threshold within 14 days. Both synced."""
    vobiz, state = world.accounts["vobiz"], world.state
    ProviderAccount.objects.filter(pk=vobiz.pk).update(low_balance_threshold=Decimal(5000))
    buy_until(state, world.upstream("vobiz"), "vobiz", below=Decimal(5000))
    spec = SandboxAccount(
        provider="audian",
        account_id="0f0e0d0c0b0a49988776655443322110",
        secret="runway-key",
        balance="120",
        name="Audian runway",
    )
    upstream = state.add_account(spec)
    runway = world.portal_account(spec, low_balance_threshold=Decimal(70))
    buy_until(state, upstream, "audian", below=Decimal(85), number_type="toll_free")
    for account in (vobiz, runway):
        assert sync_account(account, transport=world.transport).status == "succeeded"
    return vobiz, runway, upstream


def test_runway_and_warnings_of_accounts_drained_by_purchases(world, drained):
    vobiz, runway, runway_upstream = drained
    balances = {balance.account.pk: balance for balance in balances_with_runway()}

    low = balances[vobiz.pk]
    vobiz_balance = world.state.balance(world.upstream("vobiz"))
    burn, days_left, _ = expected_runway(
        world.state.transactions(world.upstream("vobiz")), vobiz_balance, Decimal(5000)
    )
    assert (low.balance, low.currency) == (vobiz_balance, "INR")
    assert low.is_low and low.needs_attention and not low.is_low_soon
    assert low.burn_per_day == burn
    assert low.days_left == days_left

    soon = balances[runway.pk]
    balance = world.state.balance(runway_upstream)
    burn, days_left, days_to_threshold = expected_runway(
        world.state.transactions(runway_upstream), balance, Decimal(70)
    )
    assert balance > Decimal(70) and days_to_threshold <= 14
    assert (soon.balance, soon.burn_per_day) == (balance, burn)
    assert (soon.days_left, soon.days_to_threshold) == (days_left, days_to_threshold)
    assert soon.is_low_soon and not soon.is_low
    assert soon.reaches_threshold_on == timezone.localdate() + timedelta(days=days_to_threshold)

    assert {b.account.pk for b in balances.values() if b.needs_attention} == {vobiz.pk, runway.pk}


def test_the_dashboard_and_the_balances_page_warn(client, finance_user, world, drained):
    vobiz, runway, runway_upstream = drained
    balance = world.state.balance(runway_upstream)
    burn, _, days_to_threshold = expected_runway(
        world.state.transactions(runway_upstream), balance, Decimal(70)
    )
    client.force_login(finance_user)

    dashboard = client.get(reverse("dashboard"))
    panels = [panel.title for panel in dashboard.context["panels"]]
    assert panels[0] == "Balance warnings"
    warned = dashboard.context["panels"][0].context["balances"]
    assert [b.account.pk for b in warned] == [vobiz.pk, runway.pk]  # under it already first
    html = " ".join(dashboard.content.decode().split())
    vobiz_balance = money(world.state.balance(world.upstream("vobiz")), "INR")
    assert f"{vobiz_balance}, below its threshold of 5,000.00 INR." in html
    assert (
        f"at the recent {money(burn.quantize(Decimal('0.01')), 'USD')} a day it falls below "
        f"its threshold of 70.00 USD in about {days_to_threshold} days"
    ) in html

    page = client.get(reverse("billing:balances"))
    html = page.content.decode()
    assert html.count('data-testid="balance-warning"') == 2
    rows = {b.account.pk: b for b in page.context["balances"]}
    assert rows[vobiz.pk].is_low and rows[runway.pk].is_low_soon
    row = html[html.index(f'id="balance-{runway.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "table-warning" in row and "Low within 14 days" in row
    assert money(balance, "USD") in row


def test_no_warning_while_every_account_is_fine(client, finance_user, world):
    sync_account(world.accounts["audian"], transport=world.transport)
    client.force_login(finance_user)
    titles = [panel.title for panel in client.get(reverse("dashboard")).context["panels"]]
    assert "Balance warnings" not in titles
    assert (
        'data-testid="balance-warnings"'
        not in client.get(reverse("billing:balances")).content.decode()
    )


def test_estimated_rentals_make_an_estimated_runway(client, finance_user, world):
    ravan = world.accounts["ravan"]  # a credits balance, but rentals only estimated
    sync_account(ravan, transport=world.transport)
    since = timezone.now() - WINDOW
    spent = sum(
        (
            row.amount
            for row in Transaction.objects.filter(account=ravan, is_estimate=True)
            if row.occurred_at > since
        ),
        ZERO,
    )
    balance = {b.account.pk: b for b in balances_with_runway()}[ravan.pk]
    assert balance.includes_estimates
    assert balance.spent == spent
    assert balance.burn_per_day == spent / 30
    client.force_login(finance_user)
    html = client.get(reverse("billing:balances")).content.decode()
    row = html[html.index(f'id="balance-{ravan.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "estimated" in row and f"about {balance.days_left} day" in row


# --- Runway edge cases, from rows made here ---------------------------------------------------


@pytest.fixture
def accounts(db):
    provider = ProviderFactory(slug="audian", name="Audian")
    now = timezone.now()
    quiet = ProviderAccountFactory(provider=provider, name="Quiet")
    BalanceSnapshotFactory(account=quiet, balance=Decimal(100))
    topped_up = ProviderAccountFactory(provider=provider, name="Topped up")
    BalanceSnapshotFactory(account=topped_up, balance=Decimal(100))
    TransactionFactory(account=topped_up, kind="credit", amount=Decimal(50), occurred_at=now)
    TransactionFactory(account=topped_up, kind="usage", amount=Decimal(20), occurred_at=now)
    empty = ProviderAccountFactory(provider=provider, name="Empty", low_balance_threshold=10)
    BalanceSnapshotFactory(account=empty, balance=Decimal("-2.5"))
    TransactionFactory(account=empty, kind="recurring", amount=Decimal(30), occurred_at=now)
    # Spend older than 30 days does not count.
    TransactionFactory(
        account=quiet, kind="debit", amount=Decimal(99), occurred_at=now - timedelta(days=31)
    )
    unread = ProviderAccountFactory(provider=provider, name="Unread")
    return {"quiet": quiet, "topped_up": topped_up, "empty": empty, "unread": unread}


def test_runway_edge_cases(client, finance_user, accounts):
    balances = {b.account.name: b for b in balances_with_runway()}
    assert balances["Quiet"].burn_per_day is None and not balances["Quiet"].has_recent_spend
    assert balances["Topped up"].burn_per_day is None and balances["Topped up"].has_recent_spend
    assert balances["Empty"].days_left == 0 and balances["Empty"].is_low
    assert balances["Unread"].balance is None and balances["Unread"].days_left is None

    client.force_login(finance_user)
    html = client.get(reverse("billing:balances")).content.decode()

    def runway_cell(name):
        row = html[html.index(f'id="balance-{accounts[name].pk}"') :]
        row = row[row.index('data-testid="runway"') :]
        return " ".join(row[: row.index("</td>")].split())

    assert "No recent spend" in runway_cell("quiet")
    assert "Balance not falling" in runway_cell("topped_up")
    assert "Out of credit" in runway_cell("empty")
    assert "Not read yet" in html


# --- Trend ----------------------------------------------------------------------------------------


def test_the_trend_takes_each_days_last_reading_in_the_configured_time_zone(settings, db):
    settings.TIME_ZONE = "Asia/Kolkata"  # days start at 18:30 UTC the day before
    zone = ZoneInfo("UTC")
    now = datetime(2026, 3, 20, 12, 0, tzinfo=zone)
    account = ProviderAccountFactory(name="Trend")
    for when, balance in [
        (datetime(2026, 1, 5, 9, 0, tzinfo=zone), "500"),  # before the window
        (datetime(2026, 3, 10, 18, 0, tzinfo=zone), "400"),  # 10 March, 23:30 in Kolkata
        (datetime(2026, 3, 10, 19, 0, tzinfo=zone), "350"),  # 11 March, 00:30 in Kolkata
        (datetime(2026, 3, 11, 10, 0, tzinfo=zone), "300.5"),  # later on 11 March
    ]:
        BalanceSnapshotFactory(account=account, balance=Decimal(balance), taken_at=when)

    (trend,) = balance_trend(now=now, days=15)
    points = dict(zip(trend.days, trend.series[0].points, strict=True))
    assert trend.currency == "USD" and len(trend.days) == 15
    assert points[datetime(2026, 3, 6).date()] == Decimal(500)  # carried from January
    assert points[datetime(2026, 3, 10).date()] == Decimal(400)
    assert points[datetime(2026, 3, 11).date()] == Decimal("300.5")
    assert points[datetime(2026, 3, 20).date()] == Decimal("300.5")


def test_the_trend_table_beside_the_chart(client, finance_user, db):
    account = provider_account("vobiz", name="Vobiz India", currency="INR")
    now = timezone.now()
    BalanceSnapshotFactory(
        account=account, balance=Decimal(25000), currency="INR", taken_at=now - timedelta(days=40)
    )
    BalanceSnapshotFactory(
        account=account, balance=Decimal("21234.5678"), currency="INR", taken_at=now
    )
    client.force_login(finance_user)
    html = client.get(reverse("billing:balances")).content.decode()
    cells = ReportTables(html).rows[("INR", "trend-table", str(account.pk))]
    assert cells[1:] == ["25,000.00", "21,234.5678", "-3,765.4322"]
    assert '<canvas data-chart="balance-chart-INR" data-chart-kind="balance"' in html


# --- Thresholds -----------------------------------------------------------------------------------


@pytest.fixture
def account(db):
    account = ProviderAccountFactory(name="Audian main", low_balance_threshold=Decimal(50))
    BalanceSnapshotFactory(account=account, balance=Decimal(80))
    return account


def test_an_admin_sets_a_threshold_and_it_is_audited(client, admin_user, account):
    client.force_login(admin_user)
    form = client.get(reverse("billing:balances"), {"edit": account.pk}).content.decode()
    assert f'action="{reverse("billing:balance_threshold", args=[account.pk])}"' in form
    assert 'value="50.00"' in form

    url = reverse("billing:balance_threshold", args=[account.pk])
    response = client.post(url, {"threshold": "100"})
    assert response.status_code == 302
    assert response.url == f"{reverse('billing:balances')}#balance-{account.pk}"
    account.refresh_from_db()
    assert account.low_balance_threshold == Decimal(100)
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCOUNT_CHANGE)
    assert (event.actor, event.object_id) == (admin_user, str(account.pk))
    assert event.before == {"low_balance_threshold": "50.0000"}
    assert event.after == {"low_balance_threshold": "100.0000"}

    client.post(url, {"threshold": "100.00"})  # the same value: nothing to record
    assert AuditEvent.objects.count() == 1
    client.post(url, {"threshold": ""})  # empty: no warning for this account
    account.refresh_from_db()
    assert account.low_balance_threshold is None
    assert AuditEvent.objects.latest("created_at").after == {"low_balance_threshold": None}
    page = client.get(reverse("billing:balances")).content.decode()
    assert "low-balance threshold saved" in page


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5", "Ensure this value is greater than or equal to 0."),
        ("lots", "Enter a number."),
        ("1.00001", "Ensure that there are no more than 4 decimal places."),
    ],
)
def test_a_bad_threshold_is_refused_in_place(client, admin_user, account, value, message):
    client.force_login(admin_user)
    response = client.post(
        reverse("billing:balance_threshold", args=[account.pk]), {"threshold": value}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'aria-invalid="true"' in html
    assert f'value="{value}"' in html
    # The page answers at the form's URL: its links still lead to the balances page.
    assert f'href="{reverse("billing:balances")}?edit={account.pk}' in html
    account.refresh_from_db()
    assert account.low_balance_threshold == Decimal(50)
    assert not AuditEvent.objects.exists()


def test_finance_sees_thresholds_but_may_not_set_them(client, finance_user, account):
    client.force_login(finance_user)
    page = client.get(reverse("billing:balances"), {"edit": account.pk}).content.decode()
    assert "50.00 USD" in page
    assert 'name="threshold"' not in page and ">Edit</a>" not in page
    response = client.post(
        reverse("billing:balance_threshold", args=[account.pk]), {"threshold": "1"}
    )
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.low_balance_threshold == Decimal(50)


def test_support_is_refused_until_an_admin_grants_balances(client, support_user, account):
    client.force_login(support_user)
    assert client.get(reverse("billing:balances")).status_code == 403
    grant(SUPPORT, "view_balancesnapshot")
    assert client.get(reverse("billing:balances")).status_code == 200
    titles = [panel.title for panel in client.get(reverse("dashboard")).context["panels"]]
    assert "Latest balance per account" in titles


# --- Monthly budgets (what the spend-above-budget alert watches) ----------------------------


def test_an_admin_sets_a_monthly_budget_beside_the_threshold_and_it_is_audited(
    client, admin_user, account
):
    client.force_login(admin_user)
    form = client.get(reverse("billing:balances"), {"edit": account.pk}).content.decode()
    budget_url = reverse("billing:balance_budget", args=[account.pk])
    assert f'action="{budget_url}"' in form and 'name="budget"' in form
    assert f'action="{reverse("billing:balance_threshold", args=[account.pk])}"' in form
    assert "no budget" in form

    response = client.post(budget_url, {"budget": "500"})
    assert response.status_code == 302
    assert response.url == f"{reverse('billing:balances')}#balance-{account.pk}"
    account.refresh_from_db()
    assert account.monthly_budget == Decimal(500)
    assert account.low_balance_threshold == Decimal(50)  # the threshold as it was
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCOUNT_CHANGE)
    assert (event.actor, event.object_id) == (admin_user, str(account.pk))
    assert (event.before, event.after) == (
        {"monthly_budget": None},
        {"monthly_budget": "500.0000"},
    )
    page = client.get(reverse("billing:balances")).content.decode()
    assert "monthly budget saved" in page and "budget 500.00 USD a month" in page
    form = client.get(reverse("billing:balances"), {"edit": account.pk}).content.decode()
    assert 'name="budget" id="budget-' in form and 'value="500.00"' in form

    client.post(budget_url, {"budget": "500.00"})  # the same value: nothing to record
    assert AuditEvent.objects.count() == 1
    client.post(budget_url, {"budget": ""})  # empty: no budget, no spend alert
    account.refresh_from_db()
    assert account.monthly_budget is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5", "Ensure this value is greater than or equal to 0."),
        ("lots", "Enter a number."),
        ("1.00001", "Ensure that there are no more than 4 decimal places."),
    ],
)
def test_a_bad_budget_is_refused_in_place(client, admin_user, account, value, message):
    client.force_login(admin_user)
    response = client.post(reverse("billing:balance_budget", args=[account.pk]), {"budget": value})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'aria-invalid="true"' in html
    assert f'value="{value}"' in html
    # The budget's field has the focus; the threshold's form is there, unrefused.
    budget_input = html[html.index('name="budget"') :]
    assert "autofocus" in budget_input[: budget_input.index(">")]
    assert 'value="50.00"' in html
    account.refresh_from_db()
    assert account.monthly_budget is None
    assert not AuditEvent.objects.exists()


def test_finance_sees_budgets_but_may_not_set_them(client, finance_user, account):
    ProviderAccount.objects.filter(pk=account.pk).update(monthly_budget=Decimal(300))
    client.force_login(finance_user)
    page = client.get(reverse("billing:balances")).content.decode()
    assert "budget 300.00 USD a month" in page and 'name="budget"' not in page
    response = client.post(reverse("billing:balance_budget", args=[account.pk]), {"budget": "1"})
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.monthly_budget == Decimal(300)
