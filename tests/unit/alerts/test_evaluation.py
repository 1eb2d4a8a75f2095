"""Evaluating the rules: an alert fires once when its condition becomes true, not again
while it stays true, clears when it stops and fires anew when it comes back; reminders
every `remind_every` while nobody acknowledged or snoozed it; one delivery per recipient
who may see it and per webhook that receives the rule; a rule that fails stops no other."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from alerts.conditions import CONDITIONS
from alerts.models import Alert, Delivery, Rule
from alerts.services.alerts import acknowledge_alert, snooze_alert
from alerts.services.evaluation import evaluate_rule, evaluate_rules, requeue_stalled
from tests.support.factories import (
    BalanceSnapshotFactory,
    DeliveryFactory,
    SubscriptionFactory,
    UserFactory,
    WebhookEndpointFactory,
    provider_account,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule():
    """The default rule (data migration): balance below threshold, reminding daily; the
    other default rules switched off, so that only this one speaks (an account never
    synced would soon be "sync failing")."""
    rule = Rule.objects.get(kind=Rule.Kind.LOW_BALANCE)
    Rule.objects.exclude(pk=rule.pk).update(is_active=False)
    return rule


@pytest.fixture
def account():
    return provider_account("audian", name="Main", low_balance_threshold=Decimal(50))


def balance(account, amount, at):
    BalanceSnapshotFactory(account=account, balance=Decimal(amount), taken_at=at)


def deliveries(**filters):
    return list(
        Delivery.objects.filter(**filters).order_by("round", "channel", "address", "webhook")
    )


def test_an_alert_fires_once_clears_and_fires_again(rule, account, finance_user, admin_user):
    hook = WebhookEndpointFactory(name="Ops channel")
    hook.rules.add(rule)
    start = timezone.now()
    balance(account, "12", start)

    first = evaluate_rules(now=start)
    assert first.opened == 1
    alert = Alert.objects.get(rule=rule)
    assert alert.subject == f"account:{account.pk}"
    assert alert.account == account
    assert alert.facts["balance"] == "12.00"
    assert alert.notified_round == 0 and alert.last_notified_at == start
    sent = deliveries(alert=alert)
    assert [(d.channel, d.address, d.webhook, d.round) for d in sent] == [
        ("email", admin_user.email, None, 0),
        ("email", finance_user.email, None, 0),
        ("webhook", "", hook, 0),
    ]
    assert {d.state for d in sent} == {Delivery.State.PENDING}

    # Still true an hour later: no second alert, no second notification.
    balance(account, "11", start + timedelta(minutes=30))
    again = evaluate_rules(now=start + timedelta(hours=1))
    assert (again.opened, again.reminded, again.cleared) == (0, 0, 0)
    assert Delivery.objects.count() == 3
    alert.refresh_from_db()
    assert alert.facts["balance"] == "11.00"  # the open alert shows the latest figures

    # Topped up: it clears, and sends nothing.
    balance(account, "80", start + timedelta(hours=2))
    cleared = evaluate_rules(now=start + timedelta(hours=2))
    assert cleared.cleared == 1
    alert.refresh_from_db()
    assert alert.cleared_at == start + timedelta(hours=2)
    assert Delivery.objects.count() == 3

    # Down again: a new alert, notified anew.
    balance(account, "5", start + timedelta(hours=3))
    evaluate_rules(now=start + timedelta(hours=3))
    second = Alert.objects.get(rule=rule, cleared_at__isnull=True)
    assert second.pk != alert.pk
    assert len(deliveries(alert=second)) == 3
    assert Alert.objects.filter(rule=rule).count() == 2


def test_reminders_while_open_until_acknowledged(rule, account, finance_user):
    start = timezone.now()
    balance(account, "12", start)
    evaluate_rules(now=start)
    alert = Alert.objects.get(rule=rule)

    assert evaluate_rules(now=start + timedelta(hours=23)).reminded == 0
    assert evaluate_rules(now=start + timedelta(days=1)).reminded == 1
    assert evaluate_rules(now=start + timedelta(days=1, hours=1)).reminded == 0
    alert.refresh_from_db()
    assert alert.notified_round == 1
    assert [d.round for d in deliveries(alert=alert)] == [0, 1]

    acknowledge_alert(alert=alert, actor=finance_user, now=start + timedelta(days=1, hours=2))
    assert evaluate_rules(now=start + timedelta(days=5)).reminded == 0
    assert len(deliveries(alert=alert)) == 2

    # Acknowledged until it clears: the next time it is true, it fires and reminds again.
    balance(account, "90", start + timedelta(days=5))
    evaluate_rules(now=start + timedelta(days=5))
    balance(account, "9", start + timedelta(days=6))
    evaluate_rules(now=start + timedelta(days=6))
    fresh = Alert.objects.get(rule=rule, cleared_at__isnull=True)
    assert fresh.acknowledged_at is None
    assert evaluate_rules(now=start + timedelta(days=7)).reminded == 1


def test_no_reminder_while_snoozed_and_one_when_the_snooze_ends(rule, account, finance_user):
    start = timezone.now()
    balance(account, "12", start)
    evaluate_rules(now=start)
    alert = Alert.objects.get(rule=rule)
    snooze_alert(alert=alert, until=start + timedelta(days=3), actor=finance_user, now=start)
    assert evaluate_rules(now=start + timedelta(days=2)).reminded == 0
    assert evaluate_rules(now=start + timedelta(days=3)).reminded == 1
    alert.refresh_from_db()
    assert alert.notified_round == 1


def test_a_rule_without_reminders_notifies_once(rule, account, finance_user):
    Rule.objects.filter(pk=rule.pk).update(remind_every=None)
    start = timezone.now()
    balance(account, "12", start)
    evaluate_rules(now=start)
    assert evaluate_rules(now=start + timedelta(days=30)).reminded == 0
    assert Delivery.objects.count() == 1


def test_only_users_who_may_see_it_and_want_it_are_sent_it(rule, account):
    finance = UserFactory(username="fin", groups=["Finance"])
    opted_out = UserFactory(username="fin-out", groups=["Finance"])
    SubscriptionFactory(user=opted_out, rule=rule, subscribed=False)
    # Support may not see balances: their own choice does not change that.
    support = UserFactory(username="sup", groups=["Support"])
    SubscriptionFactory(user=support, rule=rule, subscribed=True)
    UserFactory(username="fin-no-mail", groups=["Finance"], email="")
    UserFactory(username="fin-gone", groups=["Finance"], is_active=False)
    WebhookEndpointFactory(name="Off", is_active=False).rules.add(rule)
    WebhookEndpointFactory(name="Other rules")
    balance(account, "12", timezone.now())

    evaluate_rules()

    assert [(d.channel, d.recipient) for d in deliveries()] == [("email", finance)]
    assert support.pk


def test_an_evaluation_after_a_sync_looks_at_that_account_only(rule, finance_user):
    first = provider_account("audian", name="First", low_balance_threshold=Decimal(50))
    second = provider_account("audian", name="Second", low_balance_threshold=Decimal(50))
    start = timezone.now()
    balance(first, "1", start)
    balance(second, "1", start)
    evaluate_rules(account=first, now=start)
    assert list(Alert.objects.values_list("account", flat=True)) == [first.pk]
    # The second account's open alert is not cleared by an evaluation of the first.
    evaluate_rules(account=second, now=start)
    balance(first, "99", start + timedelta(minutes=1))
    evaluate_rules(account=first, now=start + timedelta(minutes=1))
    assert list(
        Alert.objects.filter(cleared_at__isnull=True).values_list("account", flat=True)
    ) == [second.pk]


def test_a_rule_switched_off_clears_its_open_alerts_on_the_schedule(rule, account, finance_user):
    start = timezone.now()
    balance(account, "12", start)
    evaluate_rules(now=start)
    Rule.objects.filter(pk=rule.pk).update(is_active=False)
    assert evaluate_rules(account=account, now=start).cleared == 0  # after a sync: untouched
    assert evaluate_rules(now=start).cleared == 1
    assert evaluate_rules(now=start + timedelta(days=2)).opened == 0


def test_a_rule_that_fails_is_logged_and_the_others_are_evaluated(
    rule, account, finance_user, monkeypatch, caplog
):
    failing = Rule.objects.get(kind=Rule.Kind.RUNWAY)
    Rule.objects.filter(pk=failing.pk).update(is_active=True)

    def broken(rule, *, now, account=None):
        raise RuntimeError("the balances selector broke")

    monkeypatch.setitem(CONDITIONS, Rule.Kind.RUNWAY, broken)
    balance(account, "12", timezone.now())

    evaluation = evaluate_rules()

    assert evaluation.failed == [failing.name]
    assert evaluation.opened == 1
    assert Alert.objects.get().rule == rule
    assert "evaluating rule" in caplog.text and "the balances selector broke" in caplog.text


def test_opening_queues_each_delivery_for_the_workers_once_committed(
    rule, account, finance_user, admin_user, django_capture_on_commit_callbacks
):
    balance(account, "12", timezone.now())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        evaluate_rule(rule, now=timezone.now())
        assert not DBTaskResult.objects.exists()  # not before the deliveries are committed
    assert len(callbacks) == 1
    queued = DBTaskResult.objects.filter(task_path="alerts.tasks.send_delivery")
    assert sorted(task.args_kwargs["args"][0] for task in queued) == sorted(
        Delivery.objects.values_list("pk", flat=True)
    )


def test_the_schedule_queues_again_deliveries_the_workers_lost():
    now = timezone.now()
    lost = DeliveryFactory()
    Delivery.objects.filter(pk=lost.pk).update(created_at=now - timedelta(minutes=6))
    dead_claim = DeliveryFactory(state=Delivery.State.RETRYING)
    Delivery.objects.filter(pk=dead_claim.pk).update(next_attempt_at=now - timedelta(minutes=6))
    DeliveryFactory()  # just made: its own task is on its way
    DeliveryFactory(state=Delivery.State.RETRYING, next_attempt_at=now + timedelta(minutes=1))
    DeliveryFactory(state=Delivery.State.SENT)
    old_sent = DeliveryFactory(state=Delivery.State.FAILED)
    Delivery.objects.filter(pk=old_sent.pk).update(created_at=now - timedelta(days=1))

    assert requeue_stalled(now=now) == 2
    queued = DBTaskResult.objects.filter(task_path="alerts.tasks.send_delivery")
    assert sorted(task.args_kwargs["args"][0] for task in queued) == sorted(
        [lost.pk, dead_claim.pk]
    )
