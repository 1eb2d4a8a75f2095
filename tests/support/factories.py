"""factory-boy factories for the portal's models, with realistic defaults."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from alerts.models import Alert, Delivery, Rule, Subscription, WebhookEndpoint
from billing.models import BalanceSnapshot, ServicePlan, Transaction
from billing.services.charge_facts import CHARGE_VALUES, count_charges
from numbers.models import (
    Call,
    FeeSource,
    LabelMonth,
    NumberDay,
    NumberMonth,
    NumberOrder,
    PhoneNumber,
    Tag,
)
from portal.models import AuditEvent, Provider, ProviderAccount, SyncRun

# Every user's password: the tests that sign in through a form type it.
PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def groups(self, create, names):
        if create and names:
            self.groups.add(*(Group.objects.get(name=name) for name in names))


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        django_get_or_create = ("slug",)

    slug = "audian"
    name = factory.LazyAttribute(lambda p: p.slug.capitalize())


class ProviderAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderAccount

    provider = factory.SubFactory(ProviderFactory)
    name = factory.Sequence(lambda n: f"Account {n}")
    upstream_account_id = factory.Sequence(lambda n: f"acc_{n:06d}")
    base_url = "http://127.0.0.1:8100/audian/v2"
    api_secret = factory.Sequence(lambda n: f"secret-key-{n:04d}")
    currency = "USD"


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    account = factory.SubFactory(ProviderAccountFactory)
    provider = factory.SelfAttribute("account.provider")
    number = factory.Sequence(lambda n: f"+1650{n:07d}")
    country = "US"
    number_type = PhoneNumber.Type.LOCAL
    voice = True
    sms = True
    monthly_fee = Decimal("0.9900")
    monthly_fee_source = FeeSource.LISTING
    currency = factory.SelfAttribute("account.currency")
    purchased_at = factory.LazyFunction(timezone.now)


class NumberOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NumberOrder

    idempotency_key = factory.Faker("uuid4", cast_to=None)
    account = factory.SubFactory(ProviderAccountFactory)
    number = factory.Sequence(lambda n: f"+1628{n:07d}")
    currency = factory.SelfAttribute("account.currency")


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    account = factory.SubFactory(ProviderAccountFactory)
    upstream_id = factory.Sequence(lambda n: f"txn_{n:08d}")
    kind = Transaction.Kind.DEBIT
    amount = Decimal("25.0000")
    currency = factory.SelfAttribute("account.currency")
    description = "Monthly phone number rental"
    occurred_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Counted in the monthly facts the reports read, as the syncs count what they store.
        stored = super()._create(model_class, *args, **kwargs)
        count_charges(stored.account, [{name: getattr(stored, name) for name in CHARGE_VALUES}])
        return stored


class CallFactory(factory.django.DjangoModelFactory):
    """A stored call record (raw: the facts pages read are not moved by it)."""

    class Meta:
        model = Call

    phone_number = factory.SubFactory("tests.support.factories.PhoneNumberFactory")
    account = factory.SelfAttribute("phone_number.account")
    number = factory.SelfAttribute("phone_number.number")
    other_party = "+15005550006"
    upstream_id = factory.Sequence(lambda n: f"call_{n:08d}")
    direction = "inbound"
    status = "completed"
    started_at = factory.LazyFunction(timezone.now)
    duration_seconds = 60
    billed_seconds = 60
    cost = Decimal("0.0130")
    currency = factory.SelfAttribute("account.currency")


class NumberDayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NumberDay

    phone_number = factory.SubFactory("tests.support.factories.PhoneNumberFactory")
    account = factory.SelfAttribute("phone_number.account")
    number = factory.SelfAttribute("phone_number.number")
    day = factory.LazyFunction(timezone.localdate)
    currency = factory.SelfAttribute("account.currency")
    calls = 1
    billed_seconds = 60
    cost = Decimal("0.0130")


class NumberMonthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NumberMonth

    phone_number = factory.SubFactory("tests.support.factories.PhoneNumberFactory")
    account = factory.SelfAttribute("phone_number.account")
    number = factory.SelfAttribute("phone_number.number")
    month = factory.LazyFunction(lambda: timezone.localdate().replace(day=1))
    currency = factory.SelfAttribute("account.currency")
    calls = 1
    billed_seconds = 60
    cost = Decimal("0.0130")


class LabelMonthFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LabelMonth

    account = factory.SubFactory(ProviderAccountFactory)
    label = factory.Sequence(lambda n: f"Customer {n}")
    month = factory.LazyFunction(lambda: timezone.localdate().replace(day=1))
    currency = factory.SelfAttribute("account.currency")
    calls = 1
    billed_seconds = 60
    cost = Decimal("0.0130")


class BalanceSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BalanceSnapshot

    account = factory.SubFactory(ProviderAccountFactory)
    balance = Decimal("150.0000")
    currency = factory.SelfAttribute("account.currency")


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Group {n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"customer-{n}")


class SyncRunFactory(factory.django.DjangoModelFactory):
    """A finished sync (the database allows one queued/running sync per account)."""

    class Meta:
        model = SyncRun

    account = factory.SubFactory(ProviderAccountFactory)
    kind = SyncRun.Kind.ALL
    status = SyncRun.Status.SUCCEEDED
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyAttribute(lambda run: run.started_at + timedelta(seconds=4))
    rows_fetched = 120
    rows_created = 3
    rows_updated = 1


class AuditEventFactory(factory.django.DjangoModelFactory):
    """A label change of a number; pass `target=` to audit another object."""

    class Meta:
        model = AuditEvent

    class Params:
        target = factory.SubFactory(PhoneNumberFactory)

    actor = factory.SubFactory(UserFactory)
    action = AuditEvent.Action.LABEL
    content_type = factory.LazyAttribute(lambda e: ContentType.objects.get_for_model(e.target))
    object_id = factory.LazyAttribute(lambda e: str(e.target.pk))
    object_repr = factory.LazyAttribute(lambda e: str(e.target))
    before = factory.Dict({"label": ""})
    after = factory.Dict({"label": "Support line"})


class ServicePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServicePlan

    account = factory.SubFactory(ProviderAccountFactory)
    upstream_id = factory.Sequence(lambda n: f"plan_{n:06d}")
    name = "Standard US numbers"
    # Decimal strings, as the upstream publishes rates.
    rates = factory.Dict({"phone_numbers": {"did_us": {"rate": "1.0000", "activation": "0.5000"}}})


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule

    kind = Rule.Kind.LOW_BALANCE
    name = factory.Sequence(lambda n: f"Rule {n}")
    remind_every = timedelta(days=1)


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    name = factory.Sequence(lambda n: f"Webhook {n}")
    url = factory.Sequence(lambda n: f"https://hooks.example.com/portal/{n}")
    secret = factory.Sequence(lambda n: f"whsec_test_{n:08d}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    user = factory.SubFactory(UserFactory)
    rule = factory.SubFactory(RuleFactory)
    subscribed = True


class AlertFactory(factory.django.DjangoModelFactory):
    """An open low-balance alert about an account."""

    class Meta:
        model = Alert

    rule = factory.SubFactory(RuleFactory)
    account = factory.SubFactory(ProviderAccountFactory)
    subject = factory.LazyAttribute(lambda a: f"account:{a.account.pk}")
    summary = factory.LazyAttribute(lambda a: f"{a.account}: balance 12.00 below 50.00")
    facts = factory.Dict({"balance": "12.00", "threshold": "50.00", "currency": "USD"})
    opened_at = factory.LazyFunction(timezone.now)


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    alert = factory.SubFactory(AlertFactory)
    channel = Delivery.Channel.EMAIL
    recipient = factory.SubFactory(UserFactory)
    address = factory.LazyAttribute(lambda d: d.recipient.email)


# The providers as the portal names them.
PROVIDER_NAMES = {"audian": "Audian", "vobiz": "Vobiz", "ravan": "Ravan", "tryvox": "TryVox"}


def provider_account(slug: str, **fields) -> ProviderAccount:
    """An account at the provider `slug`, the provider named as the portal names it."""
    provider = ProviderFactory(slug=slug, name=PROVIDER_NAMES[slug])
    return ProviderAccountFactory(provider=provider, **fields)


def audian_and_vobiz() -> tuple[ProviderAccount, ProviderAccount]:
    """The pair of accounts the lists' tests hold: "Audian main" in USD, "Vobiz India" in
    INR."""
    return (
        provider_account("audian", name="Audian main"),
        provider_account("vobiz", name="Vobiz India", currency="INR"),
    )


def order_for(number: PhoneNumber, **fields) -> NumberOrder:
    """An order of the owned `number`: its account and number, and linked to it."""
    return NumberOrderFactory(
        account=number.account, number=number.number, phone_number=number, **fields
    )


def ledger_entry(account, kind, amount, occurred_at, number, description, **fields) -> Transaction:
    """One transaction from a row of a test's ledger table, its amount a decimal string."""
    return TransactionFactory(
        account=account,
        kind=kind,
        amount=Decimal(amount),
        occurred_at=occurred_at,
        number=number,
        description=description,
        **fields,
    )


def calls_synced(account: ProviderAccount, until=None) -> ProviderAccount:
    """Mark the account's call records as synced (until now): its numbers' usage is known."""
    account.calls_synced_until = until or timezone.now()
    account.save(update_fields=["calls_synced_until"])
    return account


def calls_on(
    number: PhoneNumber,
    day,
    *,
    calls: int = 1,
    billed_seconds: int = 60,
    cost: str = "0.0100",
    unpriced: int = 0,
    currency: str | None = None,
) -> NumberDay:
    """A day of a number's calls as the call-record sync rolls them up: its NumberDay row,
    its month's NumberMonth row added to, and the number's last call moved on to that day
    (noon UTC) where it is later. `cost` is the priced calls' cost, a decimal string."""
    currency = currency or number.currency
    cost = Decimal(cost)
    facts = {"account": number.account, "phone_number": number, "number": number.number}
    row = NumberDay.objects.create(
        **facts,
        day=day,
        currency=currency,
        calls=calls,
        billed_seconds=billed_seconds,
        cost=cost,
        unpriced_calls=unpriced,
    )
    month, _ = NumberMonth.objects.get_or_create(
        **facts, month=day.replace(day=1), currency=currency
    )
    month.calls += calls
    month.billed_seconds += billed_seconds
    month.cost += cost
    month.unpriced_calls += unpriced
    month.save()
    called = datetime.combine(day, time(12), tzinfo=UTC)
    if calls and (number.last_call_at is None or number.last_call_at < called):
        number.last_call_at = called
        number.save(update_fields=["last_call_at"])
    return row


def grant(group: str, codename: str) -> None:
    """Give a role (its group) one more permission, as an admin would in the admin."""
    Group.objects.get(name=group).permissions.add(Permission.objects.get(codename=codename))
