"""Acknowledging and snoozing an open alert: only by someone who may see what it is about,
the first acknowledgement kept, and a snooze only to a time ahead (30 days at most)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from alerts.models import Rule
from alerts.services.alerts import acknowledge_alert, snooze_alert
from tests.support.factories import AlertFactory, RuleFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def balance_alert():
    return AlertFactory(rule=RuleFactory(kind=Rule.Kind.LOW_BALANCE))


@pytest.fixture
def sync_alert():
    return AlertFactory(
        rule=RuleFactory(kind=Rule.Kind.SYNC_FAILING, hours=24, failed_runs=3),
        summary="Audian · Main: no successful sync for 24 hours",
        facts={"hours": "24"},
    )


def test_finance_acknowledges_a_balance_alert_and_the_first_acknowledgement_stays(
    balance_alert, finance_user, admin_user
):
    now = timezone.now()
    alert = acknowledge_alert(alert=balance_alert, actor=finance_user, now=now)
    assert alert.acknowledged_by == finance_user
    assert alert.acknowledged_at == now
    again = acknowledge_alert(alert=balance_alert, actor=admin_user, now=now + timedelta(hours=1))
    assert again.acknowledged_by == finance_user
    assert again.acknowledged_at == now


def test_only_users_who_may_see_the_subject_act_on_it(
    balance_alert, sync_alert, support_user, finance_user, plain_user, admin_user
):
    # Support may not see balances, a plain user sees neither balances nor the sync
    # history: an alert about them is theirs to see no more than the page.
    for user, alert in (
        (support_user, balance_alert),
        (plain_user, balance_alert),
        (plain_user, sync_alert),
        (None, balance_alert),
    ):
        with pytest.raises(PermissionDenied):
            acknowledge_alert(alert=alert, actor=user)
        with pytest.raises(PermissionDenied):
            snooze_alert(alert=alert, until=timezone.now() + timedelta(hours=1), actor=user)
        alert.refresh_from_db()
        assert alert.acknowledged_at is None and alert.snoozed_until is None
    assert acknowledge_alert(alert=sync_alert, actor=support_user).acknowledged_by == support_user
    assert acknowledge_alert(alert=sync_alert, actor=finance_user).acknowledged_by == support_user
    snoozed = snooze_alert(
        alert=balance_alert, until=timezone.now() + timedelta(hours=2), actor=admin_user
    )
    assert snoozed.snoozed_until is not None


def test_an_inactive_user_may_not_act(balance_alert):
    gone = UserFactory(username="gone", is_active=False, is_superuser=True)
    with pytest.raises(PermissionDenied):
        acknowledge_alert(alert=balance_alert, actor=gone)


def test_a_cleared_alert_is_neither_acknowledged_nor_snoozed(balance_alert, finance_user):
    balance_alert.cleared_at = timezone.now()
    balance_alert.save()
    with pytest.raises(ValidationError, match="cleared already"):
        acknowledge_alert(alert=balance_alert, actor=finance_user)
    with pytest.raises(ValidationError, match="cleared already"):
        snooze_alert(
            alert=balance_alert, until=timezone.now() + timedelta(hours=1), actor=finance_user
        )
    balance_alert.refresh_from_db()
    assert balance_alert.acknowledged_at is None and balance_alert.snoozed_until is None


def test_a_snooze_runs_to_a_time_ahead_and_can_be_ended(balance_alert, finance_user):
    now = timezone.now()
    until = now + timedelta(hours=4)
    assert (
        snooze_alert(alert=balance_alert, until=until, actor=finance_user, now=now).snoozed_until
        == until
    )
    with pytest.raises(ValidationError, match="in the future"):
        snooze_alert(alert=balance_alert, until=now, actor=finance_user, now=now)
    with pytest.raises(ValidationError, match="30 days at most"):
        snooze_alert(
            alert=balance_alert, until=now + timedelta(days=31), actor=finance_user, now=now
        )
    with pytest.raises(ValidationError, match="time zone"):
        snooze_alert(
            alert=balance_alert,
            until=(now + timedelta(hours=1)).replace(tzinfo=None),
            actor=finance_user,
            now=now,
        )
    balance_alert.refresh_from_db()
    assert balance_alert.snoozed_until == until  # the refused snoozes changed nothing
    assert snooze_alert(alert=balance_alert, until=None, actor=finance_user).snoozed_until is None
