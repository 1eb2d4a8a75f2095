"""The main pages cost a bounded number of SQL queries, whatever the number of rows: each is
counted with a handful of rows, then again with a hundred times more, under the same bound
and never more than before. `make bench` measures the same on a large database; its
miniature (tests/unit/portal/benchmark) runs only in `make test-long`, this in `make test`."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.urls import reverse
from django.utils import timezone

from billing.models import BalanceSnapshot, Transaction
from numbers.models import NumberDay, NumberMonth, NumberOrder, PhoneNumber, Tag
from numbers.selectors.usage import today
from tests.support.factories import (
    AuditEventFactory,
    ProviderAccountFactory,
    ProviderFactory,
    ServicePlanFactory,
    SyncRunFactory,
)

# Per page: its URL (given the number the detail page shows) and the most queries it may
# make, two above what it makes today (dashboard, lists and balances 8; the number's page 11
# with a handful of rows, 10 with more, its usage included; idle numbers 11; spend 11), so
# that one more query is a choice made here, and a query per row fails at once.
PAGES = {
    "dashboard": (lambda number: reverse("dashboard"), 10),
    "numbers list": (lambda number: reverse("numbers:list"), 10),
    "idle numbers": (lambda number: reverse("numbers:idle") + "?idle_days=1", 13),
    "number detail": (lambda number: number.get_absolute_url(), 13),
    "transactions": (lambda number: reverse("billing:transactions"), 10),
    "spend": (lambda number: reverse("billing:spend"), 13),
    "balances": (lambda number: reverse("billing:balances"), 10),
}
FEW = {"numbers": 3, "transactions": 6, "audits": 2}
MANY = {"numbers": 300, "transactions": 600, "audits": 20}


@pytest.fixture
def accounts(db):
    """Two providers with an account each, in two currencies, each with a service plan and
    finished syncs: what stays the same while the rows grow."""
    made = []
    for slug, currency in (("audian", "USD"), ("vobiz", "INR")):
        account = ProviderAccountFactory(
            provider=ProviderFactory(slug=slug),
            currency=currency,
            calls_synced_until=timezone.now(),
        )
        ServicePlanFactory(account=account)
        for _ in range(3):
            SyncRunFactory(account=account)
        made.append(account)
    return made


def add_rows(accounts, *, numbers, transactions, audits, first=0) -> PhoneNumber:
    """Per account: numbers (tagged, each with its order, half of them called on a day of
    the last weeks), a ledger over the last months (three rows in four naming the account's
    first number), a balance a day; audited label edits of the first account's first
    number, the one the detail page shows."""
    now = timezone.now()
    tags = [Tag.objects.get_or_create(name=name)[0] for name in ("sales", "support")]
    for prefix, account in enumerate(accounts, start=1):
        rows = PhoneNumber.objects.bulk_create(
            PhoneNumber(
                provider=account.provider,
                account=account,
                number=f"+1{prefix}00555{index:04d}",
                label=f"Line {index}",
                monthly_fee=Decimal("1.2500"),
                currency=account.currency,
                purchased_at=now - timedelta(days=index % 90),
            )
            for index in range(first, first + numbers)
        )
        PhoneNumber.tags.through.objects.bulk_create(
            PhoneNumber.tags.through(phonenumber_id=row.pk, tag_id=tags[index % 2].pk)
            for index, row in enumerate(rows)
        )
        NumberOrder.objects.bulk_create(
            NumberOrder(
                idempotency_key=uuid.uuid4(),
                account=account,
                number=row.number,
                phone_number=row,
                currency=account.currency,
                state=NumberOrder.State.COMPLETED,
            )
            for row in rows
        )
        usage = {"account": account, "currency": account.currency, "calls": 2, "cost": 1}
        NumberDay.objects.bulk_create(
            NumberDay(**usage, phone_number=row, number=row.number, day=today() - timedelta(index))
            for index, row in enumerate(rows[::2])
        )
        NumberMonth.objects.bulk_create(
            NumberMonth(**usage, phone_number=row, number=row.number, month=today().replace(day=1))
            for row in rows[::2]
        )
        shown = PhoneNumber.objects.filter(account=account).earliest("pk")
        Transaction.objects.bulk_create(
            Transaction(
                account=account,
                upstream_id=f"txn-{index}",
                kind=("debit", "recurring", "usage", "credit")[index % 4],
                amount=Decimal("1.2500"),
                currency=account.currency,
                occurred_at=now - timedelta(hours=index * 5),
                number=(row := shown if index % 4 else rows[index % len(rows)]).number,
                phone_number=row,
            )
            for index in range(first, first + transactions)
        )
        BalanceSnapshot.objects.bulk_create(
            BalanceSnapshot(
                account=account,
                balance=Decimal(500 - index % 400),
                currency=account.currency,
                taken_at=now - timedelta(hours=index),
            )
            for index in range(first, first + numbers)
        )
    shown = PhoneNumber.objects.filter(account=accounts[0]).earliest("pk")
    for _ in range(audits):
        AuditEventFactory(target=shown)
    return shown


def count_queries(client, url, most, django_assert_max_num_queries) -> int:
    caches["reports"].clear()  # the report's sums computed afresh, as after a sync
    with django_assert_max_num_queries(most) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", PAGES)
def test_a_main_page_costs_bounded_queries_that_do_not_grow_with_rows(
    client, admin_user, accounts, django_assert_max_num_queries, name
):
    url, most = PAGES[name]
    client.force_login(admin_user)
    shown = add_rows(accounts, **FEW)
    with_few = count_queries(client, url(shown), most, django_assert_max_num_queries)

    add_rows(accounts, **MANY, first=1000)  # past the handful's numbers and ids
    with_many = count_queries(client, url(shown), most, django_assert_max_num_queries)

    assert with_many <= with_few, f"{with_few} queries with a few rows, {with_many} with more"
