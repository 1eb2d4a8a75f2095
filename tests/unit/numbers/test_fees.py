"""A number's fees come from the best source its provider has (listing, purchase quote,
service plan rate) and are unknown, never 0, where none states them (numbers.fees)."""

import csv
import importlib
import io
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from billing.models import ServicePlan
from billing.selectors.recurring import recurring_cost_vs_billed
from numbers.fees import UNKNOWN_FEE, monthly_equivalent
from numbers.models import FeeSource, NumberOrder, PhoneNumber
from numbers.selectors.numbers import number_overview
from portal.models import Provider, SyncRun
from portal.providers.sandbox import build_state
from portal.services.sync import sync_account
from tests.support.factories import NumberOrderFactory, PhoneNumberFactory, ProviderAccountFactory
from tests.support.world import in_process

# The sandbox's Audian plan prices US numbers as its catalog does (§2.9).
AUDIAN_DID, AUDIAN_TOLL_FREE = Decimal("0.99"), Decimal("1.99")


@pytest.fixture
def world(db):
    """The shared world's sandbox, in process: these tests only sync and read plans."""
    return in_process(build_state(numbers=30, transactions=25, inventory=6))


def test_audian_numbers_take_their_fees_from_the_service_plan(world):
    account = world.accounts["audian"]
    run = sync_account(account, transport=world.transport)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    numbers = PhoneNumber.objects.filter(account=account, status=PhoneNumber.Status.ACTIVE)
    assert numbers.exists()
    for number in numbers:
        toll_free = number.number_type == PhoneNumber.Type.TOLL_FREE
        assert number.monthly_fee == (AUDIAN_TOLL_FREE if toll_free else AUDIAN_DID)
        assert number.setup_fee == (Decimal("2.00") if toll_free else Decimal(0))
        assert (number.monthly_fee_source, number.setup_fee_source) == (FeeSource.PLAN,) * 2
    # The dashboard's monthly cost now counts them; nothing is left out as unknown.
    _, costs = number_overview()
    usd = next(cost for cost in costs if cost["currency"] == "USD")
    assert usd["unknown"] == 0
    assert usd["total"] >= sum(number.monthly_fee for number in numbers)


def test_a_plan_rate_follows_the_plan_and_never_overrides_a_stated_fee(world):
    account = world.accounts["audian"]
    sync_account(account, transport=world.transport)
    quoted, planned = PhoneNumber.objects.filter(
        account=account, number_type=PhoneNumber.Type.LOCAL
    )[:2]
    PhoneNumber.objects.filter(pk=quoted.pk).update(
        monthly_fee=Decimal("0.50"), monthly_fee_source=FeeSource.PURCHASE
    )
    plan = ServicePlan.objects.get(account=account)
    plan.rates["did_us"]["rate"] = "1.10"
    plan.save()

    from billing.services.plan_fees import fees_from_service_plans
    from portal.providers import adapter_for

    with adapter_for(account, transport=world.transport) as adapter:
        fees_from_service_plans(account, adapter, now=plan.synced_at)

    quoted.refresh_from_db()
    planned.refresh_from_db()
    assert (quoted.monthly_fee, quoted.monthly_fee_source) == (Decimal("0.50"), "purchase")
    assert (planned.monthly_fee, planned.monthly_fee_source) == (Decimal("1.10"), "plan")

    # A plan that no longer prices the number leaves its fee unknown, not stale, not 0.
    plan.rates = {}
    plan.save()
    with adapter_for(account, transport=world.transport) as adapter:
        fees_from_service_plans(account, adapter, now=plan.synced_at)
    planned.refresh_from_db()
    assert (planned.monthly_fee, planned.monthly_fee_source) == (None, "")


def test_ravan_prices_per_28_days_count_as_their_monthly_equivalent(world):
    account = world.accounts["ravan"]
    sync_account(account, transport=world.transport)
    number = PhoneNumber.objects.filter(account=account).first()

    assert number.rental_period_days == 28
    per_month = number.period_fee * Decimal("365.25") / 12 / 28
    assert number.monthly_fee == per_month.quantize(Decimal("0.0001"))
    # Ravan states no setup fee: unknown, not 0.
    assert (number.setup_fee, number.setup_fee_source) == (None, "")


def test_monthly_equivalent():
    assert monthly_equivalent(Decimal("1.15"), 28) == Decimal("1.2501")
    assert monthly_equivalent(Decimal("0.99"), None) == Decimal("0.9900")
    assert monthly_equivalent(None, 28) is None


@pytest.fixture
def unknown_and_known(db):
    account = ProviderAccountFactory(
        provider__slug="audian", provider__name="Audian", currency="USD"
    )
    known = PhoneNumberFactory(account=account, monthly_fee=Decimal("2.50"), currency="USD")
    unknown = PhoneNumberFactory(
        account=account, monthly_fee=None, setup_fee=None, label="Mystery", currency="USD"
    )
    return known, unknown


def test_an_unknown_fee_is_left_out_of_every_sum_and_counted(unknown_and_known):
    _, costs = number_overview()
    assert costs == [{"currency": "USD", "total": Decimal("2.50"), "numbers": 2, "unknown": 1}]
    (total,) = recurring_cost_vs_billed().totals
    assert (total.fees, total.numbers, total.unknown_fees) == (Decimal("2.50"), 2, 1)


def test_an_unknown_fee_reads_as_unknown_on_every_page(client, admin_user, unknown_and_known):
    _, unknown = unknown_and_known
    client.force_login(admin_user)

    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "1 number without a known fee" in dashboard
    spend = client.get(reverse("billing:spend")).content.decode()
    assert "1 without a known fee" in spend

    listing = client.get(reverse("numbers:list"), {"q": "Mystery"}).content.decode()
    assert "(fee unknown)" in listing and "0.00 USD" not in listing
    detail = client.get(unknown.get_absolute_url()).content.decode()
    assert UNKNOWN_FEE in detail and "0.00" not in detail

    export = client.get(reverse("numbers:list"), {"q": "Mystery", "_export": "csv"})
    (row,) = csv.DictReader(io.StringIO(export.content.decode("utf-8-sig")))
    assert (row["Monthly"], row["Setup"]) == ("", "")


def test_the_migration_turns_unstated_zeros_into_unknown_and_keeps_stated_fees(db):
    """The data step of numbers/0007 over rows as the portal stored them before fees could
    be unknown (0 by default, no source), run on the current models."""
    migration = importlib.import_module("numbers.migrations.0007_fees_from_their_sources")
    rows = _rows_as_stored_before()

    migration.forwards(django_apps, None)

    fees = {
        row.number: (row.setup_fee, row.monthly_fee, row.monthly_fee_source, row.period_fee)
        for row in PhoneNumber.objects.filter(pk__in=rows)
    }
    assert fees == {
        # Audian listed no fee: unknown, but for the one bought through the portal.
        "+14155550101": (None, None, "", None),
        "+14155550102": (Decimal("0"), Decimal("0.99"), "purchase", Decimal("0.99")),
        # Ravan's price per 28 days, kept, and counted as its monthly equivalent.
        "+14155550103": (None, Decimal("1.2501"), "listing", Decimal("1.15")),
        # TryVox states both fees, 0 included.
        "+14155550104": (Decimal("0"), Decimal("1.25"), "listing", Decimal("1.25")),
    }


def _rows_as_stored_before() -> list[int]:
    rows = []
    for index, (slug, monthly) in enumerate(
        (("audian", "0"), ("audian", "0"), ("ravan", "1.15"), ("tryvox", "1.25")), start=1
    ):
        number = PhoneNumberFactory(
            account__provider__slug=slug,
            account__name=f"{slug} {index}",
            number=f"+1415555010{index}",
            setup_fee=Decimal(0),
            monthly_fee=Decimal(monthly),
            monthly_fee_source="",
        )
        rows.append(number.pk)
    bought = PhoneNumber.objects.get(number="+14155550102")
    NumberOrderFactory(
        account=bought.account,
        number=bought.number,
        state=NumberOrder.State.COMPLETED,
        phone_number=bought,
        setup_fee=Decimal("0"),
        monthly_fee=Decimal("0.99"),
    )
    return rows


def test_providers_without_fees_are_not_mistaken_for_free(db):
    """Guard against a regression to the old default: a new row states no fee at all."""
    provider = Provider.objects.create(slug="audian", name="Audian")
    account = ProviderAccountFactory(provider=provider)
    number = PhoneNumber.objects.create(account=account, number="+14155550199", currency="USD")
    assert (number.monthly_fee, number.setup_fee) == (None, None)
