"""Rows inserted without model instances read back as `bulk_create`'s would, on either
database; `AnyOf` matches as `__in` does."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from billing.models import Transaction
from numbers.models import PhoneNumber
from portal.db.bulk import AnyOf, insert_rows
from tests.support.factories import PhoneNumberFactory, ProviderAccountFactory, TransactionFactory

NUMBER_FIELDS = [
    field.attname
    for field in PhoneNumber._meta.concrete_fields
    if field.attname not in ("id", "created_at", "updated_at")
]


def number_values(row: dict) -> dict:
    return {
        "account_id": row["account_id"],
        "provider_id": row["provider_id"],
        "number": row["number"],
        "country": "GB",
        "region": 'Zürich "quoted", \\ back\tslash',
        "number_type": PhoneNumber.Type.MOBILE,
        "upstream_id": row["upstream_id"],
        "status": PhoneNumber.Status.RELEASED,
        "sms": True,
        "setup_fee": Decimal("1.5000"),
        "monthly_fee": Decimal("0.0085"),
        "currency": "GBP",
        "purchased_at": datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
        "released_at": datetime(2025, 1, 1, tzinfo=UTC),
    }


def test_inserted_rows_read_back_as_bulk_created_ones(db):
    account = ProviderAccountFactory()
    common = {"account_id": account.pk, "provider_id": account.provider_id}
    before = timezone.now()
    insert_rows(
        PhoneNumber, [number_values({**common, "number": "+447700900001", "upstream_id": "a"})]
    )
    PhoneNumber.objects.bulk_create(
        [PhoneNumber(**number_values({**common, "number": "+447700900002", "upstream_id": "b"}))]
    )
    copied, created = (
        PhoneNumber.objects.filter(number=number).values(*NUMBER_FIELDS, "created_at", "updated_at")
        for number in ("+447700900001", "+447700900002")
    )
    copied, created = copied.get(), created.get()
    for row in (copied, created):
        assert before <= row.pop("created_at") <= timezone.now()
        assert before <= row.pop("updated_at") <= timezone.now()
        row.pop("number"), row.pop("upstream_id")
    assert copied == created
    # Fields the row left out have their defaults: the portal's label, no capabilities.
    assert (copied["label"], copied["voice"], copied["fax"]) == ("", False, False)


def test_a_row_without_optional_fields_gets_the_model_defaults(db):
    account = ProviderAccountFactory()
    insert_rows(
        Transaction,
        [
            {
                "account_id": account.pk,
                "upstream_id": "t1",
                "kind": "usage",
                "amount": Decimal("0.0085"),
                "currency": "USD",
                "occurred_at": timezone.now() - timedelta(days=1),
            }
        ],
    )
    row = Transaction.objects.get(upstream_id="t1")
    assert (row.is_estimate, row.number, row.phone_number_id, row.description) == (
        False,
        "",
        None,
        "",
    )
    assert row.amount == Decimal("0.0085")


def test_a_duplicate_raises_integrity_error_and_writes_nothing(db):
    existing = TransactionFactory(upstream_id="dup")
    row = {
        "account_id": existing.account_id,
        "kind": "debit",
        "amount": Decimal(1),
        "currency": "USD",
        "occurred_at": timezone.now(),
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Transaction, [{**row, "upstream_id": "new"}, {**row, "upstream_id": "dup"}])
    assert list(Transaction.objects.values_list("upstream_id", flat=True)) == ["dup"]


def test_nothing_to_insert_sends_nothing(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        insert_rows(Transaction, [])


def test_any_of_matches_as_in_does(db, django_assert_num_queries):
    numbers = [PhoneNumberFactory().number for _ in range(4)]
    wanted = [numbers[0], numbers[2], "+15550000000", "it's; not --a number"]
    found = PhoneNumber.objects.filter(AnyOf(F("number"), wanted))
    assert sorted(found.values_list("number", flat=True)) == [numbers[0], numbers[2]]
    with django_assert_num_queries(0):
        assert list(PhoneNumber.objects.filter(AnyOf(F("number"), []))) == []
