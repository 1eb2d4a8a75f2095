"""Twenty workers evaluating one crossing at the same moment notify once per recipient and
channel (the unique open alert), and send one reminder round a day later (the conditional
claim of the round): the database decides, on SQLite and PostgreSQL alike."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from alerts.models import Alert, Delivery, Rule
from alerts.services.evaluation import evaluate_rules
from tests.support.factories import BalanceSnapshotFactory, WebhookEndpointFactory, provider_account
from tests.support.threads import at_once

WORKERS = 20


def evaluate_at_once(now):
    results, lock = [], threading.Lock()

    def work():
        evaluation = evaluate_rules(now=now)
        with lock:
            results.append(evaluation)

    at_once(work, times=WORKERS)
    assert len(results) == WORKERS, "a worker did not finish"
    assert [e.failed for e in results if e.failed] == []
    return results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_evaluations_of_one_crossing_notify_once_per_recipient_and_channel(
    finance_user, admin_user
):
    rule = Rule.objects.get(kind=Rule.Kind.LOW_BALANCE)
    Rule.objects.exclude(pk=rule.pk).update(is_active=False)
    WebhookEndpointFactory(name="Ops").rules.add(rule)
    account = provider_account("audian", name="Main", low_balance_threshold=Decimal(50))
    start = timezone.now()
    BalanceSnapshotFactory(account=account, balance=Decimal(12), taken_at=start)

    opened = evaluate_at_once(start)

    assert sum(e.opened for e in opened) == 1
    alert = Alert.objects.get()
    first = Delivery.objects.filter(alert=alert, round=0)
    assert sorted(first.values_list("channel", flat=True)) == ["email", "email", "webhook"]
    assert set(first.exclude(recipient=None).values_list("recipient", flat=True)) == {
        finance_user.pk,
        admin_user.pk,
    }
    sends = DBTaskResult.objects.filter(task_path="alerts.tasks.send_delivery")
    assert sends.count() == 3

    reminded = evaluate_at_once(start + timedelta(days=1))

    assert sum(e.reminded for e in reminded) == 1
    alert.refresh_from_db()
    assert alert.notified_round == 1
    assert Delivery.objects.filter(alert=alert, round=1).count() == 3
    assert Delivery.objects.count() == 6
    assert sends.count() == 6
