"""E-mail alerts end to end: a real sync of a sandbox account, the hook that queues the
evaluation, the task worker that evaluates and sends, and a real SMTP server on loopback
that receives the mail. Then what the e-mail says, and what a refusing server does."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from alerts.channels.base import SendFailed
from alerts.channels.email import send
from alerts.models import Alert, Delivery, DeliveryAttempt, Rule
from alerts.services.delivery import attempt_delivery
from portal.models import ProviderAccount, SyncRun
from portal.providers.sandbox import build_state
from portal.services.sync import sync_account
from tests.support.factories import DeliveryFactory, UserFactory
from tests.support.world import in_process

THRESHOLD = Decimal(100)


def sync_and_work(world, account):
    run = sync_account(account, transport=world.transport)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    # The sync queued an evaluation; the worker runs it, and the sends it queues.
    call_command("db_worker", "--batch", "--no-startup-delay")


# The worker closes connections between tasks: outside a test transaction (see
# tests/unit/portal/test_sync_entry_points.py).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_email_when_a_balance_crosses_its_threshold_during_a_sync(smtp, finance_user):
    support = UserFactory(username="sam", groups=["Support"])  # may not see balances
    Rule.objects.exclude(kind=Rule.Kind.LOW_BALANCE).update(is_active=False)
    world = in_process(build_state(numbers=4, transactions=8, inventory=4))
    account = world.accounts["audian"]
    ProviderAccount.objects.filter(pk=account.pk).update(low_balance_threshold=THRESHOLD)
    upstream = world.upstream("audian")

    sync_and_work(world, account)  # 500 USD: above the threshold
    assert smtp.messages == []

    world.state.set_balance(upstream, "42.50")
    sync_and_work(world, account)
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail.to == [finance_user.email]
    assert smtp.to(support.email) == []

    sync_and_work(world, account)  # still under: nothing new
    assert len(smtp.messages) == 1

    world.state.set_balance(upstream, "250")
    sync_and_work(world, account)  # recovered: the alert clears, quietly
    assert len(smtp.messages) == 1
    assert Alert.objects.get().cleared_at is not None

    world.state.set_balance(upstream, "99.99")
    sync_and_work(world, account)  # crossed again: a new alert, one new e-mail
    assert len(smtp.messages) == 2
    assert Delivery.objects.filter(state=Delivery.State.SENT).count() == 2

    text, subject = mail.text, mail.subject
    assert "Audian · Audian sandbox" in subject
    assert "Audian · Audian sandbox" in text
    assert "42.50 USD" in subject and "100.00 USD" in subject
    assert re.search(r"^Balance: +42\.50 USD$", text, re.MULTILINE)
    assert re.search(r"^Threshold: +100\.00 USD$", text, re.MULTILINE)
    balances = f"{settings.PORTAL_URL}{reverse('billing:balances')}#balance-{account.pk}"
    assert f"See it on the portal: {balances}" in text
    profile = f"{settings.PORTAL_URL}{reverse('alerts:profile')}"
    assert text.rstrip().endswith(f"Change or stop what you receive: {profile}")
    # No provider credential, in the mail or its headers.
    assert account.api_secret not in mail.message.as_string()
    assert "demo-audian-key" not in mail.message.as_string()


@pytest.mark.django_db
def test_a_reminder_says_so(smtp):
    delivery = DeliveryFactory(round=2)
    send(delivery)
    (mail,) = smtp.messages
    assert mail.subject.startswith("[Number portal] Reminder: ")
    assert "Reminder 2: the alert is still open and nobody has acknowledged it." in mail.text


@pytest.mark.django_db
def test_a_refused_address_fails_the_attempt_with_the_servers_reply(smtp):
    delivery = DeliveryFactory(recipient=UserFactory(email="nobody@example.com"))
    delivery.address = "nobody@example.com"
    delivery.save()
    smtp.refused.add("nobody@example.com")
    with pytest.raises(SendFailed, match=r"refused the address nobody@example\.com: 550") as error:
        send(delivery)
    assert error.value.status_code == 550

    after = attempt_delivery(delivery.pk)
    assert after.state == Delivery.State.RETRYING
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert not attempt.ok and attempt.status_code == 550
    assert "Mailbox unavailable" in attempt.excerpt


@pytest.mark.django_db
def test_a_mail_server_that_is_down_fails_the_attempt_without_its_password(settings, smtp):
    settings.EMAIL_PORT = smtp.port + 1 if smtp.port < 65535 else smtp.port - 1
    settings.EMAIL_HOST_PASSWORD = "smtp-password-never-shown"
    delivery = DeliveryFactory()
    after = attempt_delivery(delivery.pk)
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert after.state == Delivery.State.RETRYING
    assert attempt.excerpt.startswith("Could not reach the mail server 127.0.0.1:")
    assert "smtp-password-never-shown" not in attempt.excerpt


@pytest.mark.django_db
def test_a_delivery_without_an_address_fails(smtp):
    delivery = DeliveryFactory()
    Delivery.objects.filter(pk=delivery.pk).update(address="")
    delivery.refresh_from_db()
    with pytest.raises(SendFailed, match="no e-mail address"):
        send(delivery)
    assert smtp.messages == []
