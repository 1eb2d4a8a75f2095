"""Renewals at risk for a simulated Ravan account: the portal's renewal dates (purchase
date + n * 28 days, from what the sync stored) agree with those the sandbox's Ravan lists,
and the alert opens when the credits cannot pay the renewals due within the rule's days,
and clears once they can."""

from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from alerts.models import Alert, Rule
from alerts.services.evaluation import evaluate_rules
from numbers.models import PhoneNumber
from numbers.selectors.renewals import renewal_dates, renewals_due
from portal.models import SyncRun
from portal.providers.sandbox import build_state
from portal.services.sync import sync_account
from tests.support.world import in_process

pytestmark = pytest.mark.django_db
WINDOW_DAYS = 7


@pytest.fixture
def world():
    return in_process(build_state(numbers=40, transactions=4, inventory=4))


@pytest.fixture
def ravan(world):
    account = world.accounts["ravan"]
    assert sync_account(account, transport=world.transport).status == SyncRun.Status.SUCCEEDED
    return account


def sandbox_renewals(world, account) -> dict[str, datetime]:
    """What the sandbox's Ravan lists as each number's next renewal."""
    with httpx.Client(transport=world.transport, base_url=account.base_url) as client:
        listing = client.get("/phone-numbers/list", headers={"X-Api-Key": account.api_secret})
    return {
        item["number"]: datetime.fromisoformat(item["next_renewal_at"])
        for item in listing.json()["data"]
    }


def test_the_portals_renewal_dates_agree_with_the_sandboxs(world, ravan):
    listed = sandbox_renewals(world, ravan)
    now = timezone.now()
    numbers = PhoneNumber.objects.filter(account=ravan).exclude(status="released")
    assert numbers.count() == len(listed) == 40
    for number in numbers:
        (derived,) = renewal_dates(
            number.purchased_at, 28, after=now, until=now + timedelta(days=28)
        )
        assert derived == listed[number.number], number.number


def test_renewals_at_risk_fire_when_the_credits_cannot_pay_them_and_clear_when_they_can(
    world, ravan
):
    rule = Rule.objects.get(kind=Rule.Kind.RENEWAL_AT_RISK)
    assert rule.days == WINDOW_DAYS
    Rule.objects.exclude(pk=rule.pk).update(is_active=False)
    now = timezone.now()
    listed = sandbox_renewals(world, ravan)
    due_soon = [n for n, at in listed.items() if at <= now + timedelta(days=WINDOW_DAYS)]
    fees = dict(PhoneNumber.objects.filter(account=ravan).values_list("number", "period_fee"))
    due = sum((fees[number] for number in due_soon), Decimal(0))
    assert due_soon and due > 0, "the seeded world has renewals in the window"
    outlook = renewals_due(ravan, now=now, within=timedelta(days=WINDOW_DAYS))
    assert outlook.known_total == due
    upstream = world.upstream("ravan")

    # Credits a cent short of the renewals due this week.
    world.state.set_balance(upstream, due - Decimal("0.01"))
    sync_account(ravan, transport=world.transport)
    evaluate_rules(account=ravan)

    alert = Alert.objects.get(rule=rule, cleared_at__isnull=True)
    assert alert.account == ravan
    assert alert.facts["due"] == str(due.quantize(Decimal("0.01")))
    assert alert.facts["balance"] == str((due - Decimal("0.01")).quantize(Decimal("0.01")))
    assert alert.facts["renewals"] == str(len(due_soon))
    assert alert.facts["unknown_fees"] == "0"

    # Topped up to exactly what is due: the renewals are covered, the alert clears.
    world.state.set_balance(upstream, due)
    sync_account(ravan, transport=world.transport)
    evaluation = evaluate_rules(account=ravan)
    assert evaluation.cleared == 1
    assert not Alert.objects.filter(cleared_at__isnull=True).exists()


def test_no_renewal_alert_for_a_ravan_account_that_can_pay(world, ravan):
    rule = Rule.objects.get(kind=Rule.Kind.RENEWAL_AT_RISK)
    world.state.set_balance(world.upstream("ravan"), "1000")
    sync_account(ravan, transport=world.transport)
    evaluate_rules(account=ravan)
    assert not Alert.objects.filter(rule=rule).exists()
