"""The monthly facts per label (LabelMonth) stay equal to the numbers' monthly facts added up
by the label each number shows now, whatever moved them: a sync of calls and ledgers, an
inline or bulk label change, a label changed at the provider, a purchase, and label changes
made while a ledger is being written."""

import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from itertools import cycle

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing.services.charge_facts import count_charges
from numbers.models import LabelMonth, NumberMonth, PhoneNumber
from numbers.services.bulk import BulkChange, apply_bulk_change
from numbers.services.fact_tables import FACT_FIELDS
from numbers.services.label_facts import lock_label_facts, rebuild_label_facts
from numbers.services.labels import set_label
from portal.models import ProviderAccount, SyncRun
from portal.providers import adapter_for
from portal.providers.sandbox import build_state
from portal.services.sync import sync_account
from tests.support.factories import PhoneNumberFactory, provider_account
from tests.support.threads import at_once
from tests.support.world import in_process, sync_every_account


def facts_by_label_from_numbers() -> dict:
    """NumberMonth added up by (account, label shown now, month, currency): the truth."""
    shown = {
        (provider_id, number): label or upstream
        for provider_id, number, label, upstream in PhoneNumber.objects.values_list(
            "provider_id", "number", "label", "upstream_label"
        )
    }
    providers = dict(ProviderAccount.objects.values_list("pk", "provider_id"))
    sums = defaultdict(lambda: [0] * len(FACT_FIELDS))
    for account_id, number, month, currency, *values in NumberMonth.objects.values_list(
        "account_id", "number", "month", "currency", *FACT_FIELDS
    ):
        label = shown.get((providers[account_id], number), "")
        total = sums[(account_id, label, month, currency)]
        for index, value in enumerate(values):
            total[index] += value
    return {key: totals for key, totals in sums.items() if any(totals)}


def facts_by_label_stored() -> dict:
    rows = LabelMonth.objects.values_list("account_id", "label", "month", "currency", *FACT_FIELDS)
    return {tuple(key): list(values) for *key, values in _split(rows) if any(values)}


def _split(rows):
    for account_id, label, month, currency, *values in rows:
        yield account_id, label, month, currency, values


def assert_label_facts_true():
    assert facts_by_label_stored() == facts_by_label_from_numbers()


@pytest.fixture
def synced(db):
    world = in_process(build_state(numbers=12, transactions=80, calls=60))
    return sync_every_account(world)


def test_a_sync_of_numbers_ledgers_and_calls_adds_them_to_the_labels(synced):
    assert LabelMonth.objects.exists()
    assert LabelMonth.objects.exclude(label="").exists(), "the sandbox's labels are shown"
    assert_label_facts_true()
    before = facts_by_label_stored()
    sync_every_account(synced)  # nothing new upstream: nothing moves
    assert facts_by_label_stored() == before


def test_an_inline_label_change_moves_the_numbers_months(synced):
    number = (
        PhoneNumber.objects.filter(numbermonth__charged__gt=0, provider__slug="vobiz")
        .distinct()
        .first()
    )
    set_label(number, "Moved here", actor=None)
    assert LabelMonth.objects.filter(label="Moved here").exists()
    assert_label_facts_true()
    set_label(number, "", actor=None)  # cleared: the provider's label shows again
    assert not LabelMonth.objects.filter(label="Moved here").exists()
    assert_label_facts_true()


def test_a_label_set_at_the_provider_moves_them_too(synced):
    number = PhoneNumber.objects.filter(provider__slug="audian", numbermonth__isnull=False)[0]
    with adapter_for(number.account, transport=synced.transport) as adapter:
        set_label(number, "Audian relabelled", actor=None, adapter=adapter)
    assert LabelMonth.objects.filter(label="Audian relabelled").exists()
    assert_label_facts_true()


def test_a_bulk_label_change_moves_every_numbers_months(synced):
    numbers = PhoneNumber.objects.filter(provider__slug__in=["vobiz", "tryvox"])
    apply_bulk_change(numbers, BulkChange(label="Bulk customer"), actor=None)
    assert LabelMonth.objects.filter(label="Bulk customer").exists()
    assert_label_facts_true()


def test_a_label_changed_at_the_provider_moves_them_on_the_next_sync(synced):
    account = synced.accounts["audian"]
    number = PhoneNumber.objects.filter(account=account, label="", numbermonth__isnull=False)[0]
    synced.state.set_label(synced.upstream("audian"), number.number, "Renamed upstream")
    run = sync_account(account, SyncRun.Kind.NUMBERS, transport=synced.transport)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert LabelMonth.objects.filter(label="Renamed upstream").exists()
    assert_label_facts_true()


def charge(account, number: str, amount: str, phone_number_id=None) -> dict:
    """A recurring charge of the ledger, as the sync stores it (charge_facts.CHARGE_VALUES)."""
    return {
        "kind": "recurring",
        "amount": Decimal(amount),
        "currency": account.currency,
        "occurred_at": datetime(2026, 11, 3, 10, tzinfo=UTC),
        "number": number,
        "phone_number_id": phone_number_id,
        "is_estimate": False,
    }


def test_charges_billed_before_the_portal_held_the_number_follow_its_label(db):
    account = provider_account("vobiz", currency="INR")
    count_charges(account, [charge(account, "+918012300001", "75.0000")])
    assert LabelMonth.objects.get().label == ""
    number = PhoneNumberFactory(account=account, number="+918012300001")
    set_label(number, "Late arrival", actor=None)
    assert LabelMonth.objects.get().label == "Late arrival"
    assert_label_facts_true()


def test_a_rebuild_gives_what_the_writes_kept(synced):
    kept = facts_by_label_stored()
    rebuild_label_facts(ProviderAccount.objects.all())
    assert facts_by_label_stored() == kept


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_labels_changed_while_a_ledger_is_written_lose_nothing():
    """Charges counted on one connection while another relabels the same numbers over and
    over: on PostgreSQL the label-facts lock orders them; SQLite has one writer anyway."""
    account = provider_account("vobiz", currency="INR")
    numbers = [PhoneNumberFactory(account=account) for _ in range(4)]
    charges = [charge(account, number.number, "1.2500", number.pk) for number in numbers]
    labels = cycle(["North", "South", ""])
    turns = iter(["charges", "labels"])

    def work():
        if next(turns) == "charges":
            for _ in range(15):
                count_charges(account, charges)
        else:
            for _ in range(15):
                for number in PhoneNumber.objects.filter(account=account):
                    set_label(number, next(labels), actor=None)

    at_once(work, times=2)
    total = sum(row.charged for row in LabelMonth.objects.filter(account=account))
    assert total == Decimal("1.2500") * len(numbers) * 15
    assert_label_facts_true()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_label_edited_while_a_call_sync_stamps_the_number_waits_never_deadlocks():
    """The call sync holds its share of the label-facts lock while it writes the numbers'
    last call; a label edit of the same number takes that lock before the number's row, so
    on PostgreSQL it waits for the sync rather than deadlock with it."""
    account = provider_account("vobiz", currency="INR")
    number = PhoneNumberFactory(account=account)
    sync_holds_its_share, edit_started = threading.Event(), threading.Event()
    errors = []

    def edit_has_come_to_wait() -> bool:
        """PostgreSQL: the edit waits on a lock the sync holds. SQLite has one writer at a
        time (the sync's transaction holds it): there the edit waits from its start."""
        if connection.vendor != "postgresql":
            return edit_started.is_set()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            return cursor.fetchone()[0] > 0

    def call_sync():
        try:
            with transaction.atomic():
                lock_label_facts(account.provider_id)
                sync_holds_its_share.set()
                deadline = time.monotonic() + 10
                while not edit_has_come_to_wait() and time.monotonic() < deadline:
                    time.sleep(0.02)
                PhoneNumber.objects.filter(pk=number.pk).update(last_call_at=timezone.now())
        except Exception as exc:  # a deadlock, as PostgreSQL reports it
            errors.append(exc)
        finally:
            connection.close()

    def label_edit():
        sync_holds_its_share.wait(10)
        edit_started.set()
        try:
            set_label(PhoneNumber.objects.get(pk=number.pk), "Edited meanwhile", actor=None)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call_sync), threading.Thread(target=label_edit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    number.refresh_from_db()
    assert number.label == "Edited meanwhile"
    assert number.last_call_at is not None
