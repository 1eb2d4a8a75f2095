"""How evaluations start: a finished sync queues one for its account on the task workers
(through the core's SYNC_FINISHED_HOOKS, the core importing nothing of alerts), and
`manage.py alerts evaluate` evaluates every rule on a schedule."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from alerts.models import Alert, Delivery, Rule
from portal.models import SyncRun
from portal.providers.sandbox import build_state
from portal.services.sync import sync_account
from tests.support.factories import BalanceSnapshotFactory, DeliveryFactory, provider_account
from tests.support.world import in_process

pytestmark = pytest.mark.django_db


def test_a_finished_sync_queues_an_evaluation_of_its_account():
    assert "alerts.hooks.sync_finished" in settings.SYNC_FINISHED_HOOKS
    world = in_process(build_state(numbers=2, transactions=2, inventory=2))
    account = world.accounts["tryvox"]
    run = sync_account(account, transport=world.transport)
    assert run.status == SyncRun.Status.SUCCEEDED
    (task,) = DBTaskResult.objects.filter(task_path="alerts.tasks.evaluate_account_alerts")
    assert task.args_kwargs["args"] == [account.pk]
    assert not Alert.objects.exists()  # evaluated by a worker, not by the sync


def test_a_failed_sync_queues_one_too(world):
    account = world.accounts["audian"]
    account.api_secret = "wrong-key"
    account.save()
    run = sync_account(account)
    assert run.status == SyncRun.Status.FAILED
    assert (
        DBTaskResult.objects.filter(task_path="alerts.tasks.evaluate_account_alerts").count() == 1
    )


def test_the_schedule_evaluates_every_rule_and_queues_lost_deliveries():
    # A delivery of an alert that cleared since, which no worker ever took.
    lost = DeliveryFactory(alert__cleared_at=timezone.now())
    Delivery.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(hours=1))
    default = Rule.objects.get(kind=Rule.Kind.LOW_BALANCE, name="Balance below threshold")
    Rule.objects.exclude(pk=default.pk).update(is_active=False)
    account = provider_account("audian", name="Main", low_balance_threshold=Decimal(50))
    BalanceSnapshotFactory(account=account, balance=Decimal(1))
    out = StringIO()

    call_command("alerts", "evaluate", stdout=out)

    assert Alert.objects.filter(account=account, cleared_at__isnull=True).exists()
    assert (
        "alerts: 1 opened, 0 reminded, 0 cleared; 1 delivery(ies) queued again." in out.getvalue()
    )


def test_the_schedule_refuses_a_period_under_a_second():
    with pytest.raises(CommandError, match="at least 1 second"):
        call_command("alerts", "evaluate", "--every", "0")
