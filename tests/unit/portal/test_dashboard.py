from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from numbers.models import PhoneNumber
from portal.models import SyncRun
from tests.support.factories import (
    BalanceSnapshotFactory,
    PhoneNumberFactory,
    ProviderAccountFactory,
    ProviderFactory,
)


@pytest.fixture
def two_providers(db):
    audian = ProviderAccountFactory(name="Audian main", low_balance_threshold=Decimal("50"))
    vobiz = ProviderAccountFactory(
        name="Vobiz India",
        provider=ProviderFactory(slug="vobiz", name="Vobiz"),
        currency="INR",
        low_balance_threshold=Decimal("1000"),
    )
    for _ in range(3):
        PhoneNumberFactory(account=audian, monthly_fee=Decimal("0.99"))
    PhoneNumberFactory(
        account=audian, status=PhoneNumber.Status.RELEASED, released_at=timezone.now()
    )
    for i in range(2):
        PhoneNumberFactory(
            account=vobiz, number=f"+9198765432{i:02d}", country="IN", monthly_fee=Decimal("250")
        )
    return audian, vobiz


def test_numbers_by_provider_and_status(client, support_user, two_providers):
    client.force_login(support_user)
    panel = _panel(client, "Numbers by provider and status")
    rows = {row["provider"]: row for row in panel["rows"]}
    assert rows["Audian"]["counts"] == {"active": 3, "released": 1}
    assert rows["Audian"]["total"] == 4
    assert rows["Vobiz"]["counts"] == {"active": 2}
    costs = {cost["currency"]: cost["total"] for cost in panel["monthly_costs"]}
    assert costs == {"USD": Decimal("2.97"), "INR": Decimal("500")}


def test_latest_balance_per_account_and_low_balance(client, finance_user, two_providers):
    audian, vobiz = two_providers
    now = timezone.now()
    BalanceSnapshotFactory(account=audian, balance=Decimal("80"), taken_at=now - timedelta(days=1))
    BalanceSnapshotFactory(account=audian, balance=Decimal("12.5"), taken_at=now)
    BalanceSnapshotFactory(account=vobiz, balance=Decimal("23906.83"), currency="INR", taken_at=now)
    client.force_login(finance_user)
    response = client.get(reverse("dashboard"))
    accounts = {a.name: a for a in _panel_from(response, "Latest balance per account")["accounts"]}
    assert accounts["Audian main"].balance == Decimal("12.5")
    assert accounts["Audian main"].is_low
    assert accounts["Vobiz India"].balance == Decimal("23906.83")
    assert not accounts["Vobiz India"].is_low
    html = response.content.decode()
    assert "12.50 USD" in html
    assert "23,906.83 INR" in html
    assert "Below 50.00 USD" in html


def test_last_sync_per_account(client, support_user, two_providers):
    audian, _ = two_providers
    start = timezone.now() - timedelta(minutes=10)
    SyncRun.objects.create(
        account=audian,
        status=SyncRun.Status.FAILED,
        started_at=start - timedelta(hours=1),
        finished_at=start - timedelta(hours=1),
    )
    SyncRun.objects.create(
        account=audian, status=SyncRun.Status.SUCCEEDED, started_at=start, finished_at=start
    )
    client.force_login(support_user)
    response = client.get(reverse("dashboard"))
    accounts = {a.name: a for a in _panel_from(response, "Last sync per account")["accounts"]}
    assert accounts["Audian main"].last_sync_status == "succeeded"
    assert accounts["Vobiz India"].last_sync_status is None
    assert "Never synced" in response.content.decode()


def test_support_does_not_see_balances(client, support_user, two_providers):
    client.force_login(support_user)
    titles = [p.title for p in client.get(reverse("dashboard")).context["panels"]]
    assert titles == ["Numbers by provider and status", "Last sync per account"]


def test_friendly_empty_state_without_accounts(client, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="empty-state"' in html
    assert "Connect a provider account" in html


def test_user_without_role_is_told_so(client, plain_user, two_providers):
    client.force_login(plain_user)
    assert 'data-testid="no-role"' in client.get(reverse("dashboard")).content.decode()


def test_dashboard_queries_do_not_grow_with_data(client, admin_user, two_providers):
    client.force_login(admin_user)
    client.get(reverse("dashboard"))  # warm up session and content types

    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("dashboard")).status_code == 200
        return len(queries)

    before = count()
    for _ in range(5):
        account = ProviderAccountFactory()
        PhoneNumberFactory.create_batch(3, account=account)
        BalanceSnapshotFactory(account=account)
    assert count() == before


def _panel_from(response, title):
    return next(p for p in response.context["panels"] if p.title == title).context


def _panel(client, title):
    return _panel_from(client.get(reverse("dashboard")), title)
