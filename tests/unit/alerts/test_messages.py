"""What an alert e-mail says for each kind: its figures in words, and the page to open."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from alerts.links import page_url
from alerts.messages import alert_message
from alerts.models import Rule
from tests.support.factories import AlertFactory, DeliveryFactory, RuleFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (Rule.Kind.LOW_BALANCE, "/billing/balances/#balance-{account}"),
        (Rule.Kind.RUNWAY, "/billing/balances/#balance-{account}"),
        (Rule.Kind.RENEWAL_AT_RISK, "/billing/balances/#balance-{account}"),
        (Rule.Kind.SPEND_OVER_BUDGET, "/billing/spend/?by=account"),
        (Rule.Kind.SYNC_FAILING, "/sync/?account={account}"),
        (Rule.Kind.UNKNOWN_PURCHASES, "/numbers/orders/?state=unknown&account={account}"),
        (Rule.Kind.IDLE_DIGEST, "/numbers/idle/?idle_days=60"),
    ],
)
def test_each_kind_links_to_its_page(kind, path):
    alert = AlertFactory(rule=RuleFactory(kind=kind, days=60))
    expected = settings.PORTAL_URL + path.format(account=alert.account_id)
    assert page_url(alert) == expected


def test_a_renewal_alert_reads_its_dates_and_amounts():
    now = timezone.now()
    unpaid = now + timedelta(days=3)
    alert = AlertFactory(
        rule=RuleFactory(kind=Rule.Kind.RENEWAL_AT_RISK, days=7),
        summary="Ravan · Voice agents: renewals of 3.65 USD due within 7 days, more than "
        "the balance of 2.00 USD",
        facts={
            "account": "Ravan · Voice agents",
            "balance": "2.00",
            "currency": "USD",
            "due": "3.65",
            "renewals": "2",
            "unknown_fees": "0",
            "numbers_without_purchase_date": "0",
            "days": "7",
            "period_days": "28",
            "first_unpaid_renewal": unpaid.isoformat(),
            "first_unpaid_number": "+13612738809",
            "released_after": (unpaid + timedelta(hours=48)).isoformat(),
        },
    )
    text = alert_message(DeliveryFactory(alert=alert)).body
    local = timezone.localtime(unpaid + timedelta(hours=48))
    lines = {
        label: value.strip()
        for label, _, value in (line.partition(":") for line in text.splitlines())
    }
    assert lines["Renewals due"] == "3.65 USD"
    assert lines["Balance"] == "2.00 USD"
    assert lines["Released for good after"].startswith(f"{local:%d %b %Y %H:%M}")
    assert lines["Its number"] == "+13612738809"


def test_the_idle_digest_is_about_the_whole_portal():
    alert = AlertFactory(
        rule=RuleFactory(kind=Rule.Kind.IDLE_DIGEST, days=60, remind_every=None),
        account=None,
        subject="portal:idle:2026-W49",
        summary="3 numbers with no calls in 60 days cost 100.00 INR, 1.00 USD a month",
        facts={"week": "2026-W49", "numbers": "3", "monthly_cost": "100.00 INR, 1.00 USD"},
    )
    message = alert_message(DeliveryFactory(alert=alert))
    assert message.subject == (
        "[Number portal] 3 numbers with no calls in 60 days cost 100.00 INR, 1.00 USD a month"
    )
    assert "What they cost a month: 100.00 INR, 1.00 USD" in message.body
    assert f"{settings.PORTAL_URL}/numbers/idle/?idle_days=60" in message.body


def test_a_subject_is_one_line_whatever_the_account_is_called():
    alert = AlertFactory(summary="Audian · Main\r\nBcc: someone@example.com: balance low")
    subject = alert_message(DeliveryFactory(alert=alert)).subject
    assert "\n" not in subject and "\r" not in subject
