"""The data rules of DESIGN.md, enforced by the database itself."""

import uuid
from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from billing.models import Transaction
from numbers.models import NumberOrder, PhoneNumber
from portal.models import SyncRun
from tests.support.factories import (
    NumberOrderFactory,
    PhoneNumberFactory,
    ProviderAccountFactory,
    ProviderFactory,
    TransactionFactory,
)

pytestmark = pytest.mark.django_db


def refused(**create):
    """True when the database rejects the row, in its own savepoint. (PostgreSQL refuses a
    too-long value before any check constraint, with a DataError.)"""
    try:
        with transaction.atomic():
            create.pop("factory")(**create)
    except (IntegrityError, DataError):
        return True
    return False


@pytest.mark.parametrize(
    "amount",
    ["0.0085", "0.0945", "12345678.1234", "9999999999.9999", "-150.7500", "0.0001", "0"],
)
def test_money_round_trips_as_exact_decimal(amount):
    saved = TransactionFactory(amount=abs(Decimal(amount)))
    reread = Transaction.objects.get(pk=saved.pk)
    assert isinstance(reread.amount, Decimal)
    assert reread.amount == abs(Decimal(amount))
    assert str(reread.amount) == str(abs(Decimal(amount)).quantize(Decimal("0.0001")))


def test_sums_are_exact_and_per_currency():
    usd = ProviderAccountFactory(currency="USD")
    inr = ProviderAccountFactory(currency="INR")
    for amount in ["0.1", "0.2", "0.0085"]:
        TransactionFactory(account=usd, amount=Decimal(amount))
    TransactionFactory(account=inr, amount=Decimal("250.5"))
    totals = dict(
        Transaction.objects.values("currency")
        .annotate(t=Sum("amount"))
        .values_list("currency", "t")
    )
    assert totals == {"USD": Decimal("0.3085"), "INR": Decimal("250.5")}


def test_a_duplicate_owned_number_is_refused_by_the_database():
    first = PhoneNumberFactory(number="+14155550100")
    other_account = ProviderAccountFactory(provider=first.provider)
    assert refused(factory=PhoneNumberFactory, account=other_account, number="+14155550100")


def test_the_same_number_may_be_held_at_two_providers():
    PhoneNumberFactory(number="+14155550100")
    vobiz = ProviderAccountFactory(provider=ProviderFactory(slug="vobiz"))
    assert not refused(factory=PhoneNumberFactory, account=vobiz, number="+14155550100")


def test_the_provider_is_always_the_accounts():
    account = ProviderAccountFactory(provider=ProviderFactory(slug="ravan"))
    number = PhoneNumberFactory.build(account=account, provider=ProviderFactory(slug="tryvox"))
    number.save()
    assert number.provider.slug == "ravan"


@pytest.mark.parametrize("number", ["4155550100", "+1 415 555 0100", "+0123456789", "+1", ""])
def test_numbers_must_be_e164(number):
    assert refused(factory=PhoneNumberFactory, number=number)


def test_upstream_id_is_unique_per_account_when_present():
    first = PhoneNumberFactory(upstream_id="num_abc123")
    assert refused(factory=PhoneNumberFactory, account=first.account, upstream_id="num_abc123")
    assert not refused(factory=PhoneNumberFactory, account=first.account, upstream_id="")
    assert not refused(factory=PhoneNumberFactory, account=first.account, upstream_id="")


@pytest.mark.parametrize("currency", ["usd", "US", "USDT", ""])
def test_currency_must_be_an_iso_code(currency):
    assert refused(factory=PhoneNumberFactory, currency=currency)


def test_fees_and_amounts_cannot_be_negative():
    assert refused(factory=PhoneNumberFactory, monthly_fee=Decimal("-1"))
    assert refused(factory=TransactionFactory, amount=Decimal("-0.01"))


def test_a_released_number_has_a_release_date():
    assert refused(factory=PhoneNumberFactory, status=PhoneNumber.Status.RELEASED)
    assert not refused(
        factory=PhoneNumberFactory, status=PhoneNumber.Status.RELEASED, released_at=timezone.now()
    )


def test_transactions_are_unique_per_account_and_upstream_id():
    first = TransactionFactory(upstream_id="txn_abc123")
    assert refused(factory=TransactionFactory, account=first.account, upstream_id="txn_abc123")
    assert not refused(factory=TransactionFactory, upstream_id="txn_abc123")


def test_only_one_sync_of_an_account_is_in_progress():
    account = ProviderAccountFactory()
    SyncRun.objects.create(account=account, status=SyncRun.Status.RUNNING)
    assert refused(factory=SyncRun.objects.create, account=account, status=SyncRun.Status.QUEUED)
    assert not refused(
        factory=SyncRun.objects.create,
        account=account,
        status=SyncRun.Status.FAILED,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )


def test_a_finished_sync_has_a_finish_time():
    account = ProviderAccountFactory()
    assert refused(factory=SyncRun.objects.create, account=account, status=SyncRun.Status.SUCCEEDED)


def test_idempotency_key_is_unique():
    key = uuid.uuid4()
    NumberOrderFactory(idempotency_key=key)
    assert refused(factory=NumberOrderFactory, idempotency_key=key)


def test_one_open_order_per_number_and_account():
    order = NumberOrderFactory(number="+14155550199")
    assert refused(factory=NumberOrderFactory, account=order.account, number="+14155550199")
    order.state = NumberOrder.State.FAILED
    order.save()
    assert not refused(factory=NumberOrderFactory, account=order.account, number="+14155550199")


def test_a_completed_order_names_its_number():
    assert refused(factory=NumberOrderFactory, state=NumberOrder.State.COMPLETED)


def test_signed_amount_follows_the_kind():
    assert TransactionFactory(kind="recurring", amount=Decimal("2.5")).signed_amount == Decimal(
        "-2.5"
    )
    assert TransactionFactory(kind="credit", amount=Decimal("100")).signed_amount == Decimal("100")
