"""An optional endpoint the account does not offer (it answers 404, 405 or 501) is a
capability, not a failure: the step keeps what it read, the account records the endpoint as
not offered (shown on its pages and in the admin), the sync asks again after a day, and an
answer clears the record. Against the sandbox over loopback, whose `not_offered` fault makes
the endpoint answer so."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from billing.models import BalanceSnapshot, ServicePlan
from portal.models import ProviderAccount, SyncRun
from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from portal.services.sync import sync_account
from tests.support.world import World

TRYVOX_BALANCE = r"^/tryvox/v1/account/[^/]+/balance$"
# A plan's own document (§2.9 [KAZOO]), not the list of plans beside it.
AUDIAN_PLAN_DOCUMENT = r"^/audian/v2/accounts/[^/]+/service_plans/[^/]+$"


@pytest.fixture
def faults():
    return FaultConfig()


@pytest.fixture
def world(db, faults):
    state = build_state(numbers=4, transactions=4, inventory=2)
    with SandboxThread(build_app(state, faults)) as url:
        yield World(state, url)


def shown(moment) -> str:
    """A check's time as the pages print it."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def page_text(client, url) -> str:
    """The words of the page at `url`, as a reader sees them."""
    response = client.get(url)
    assert response.status_code == 200
    return " ".join(strip_tags(response.content.decode()).split())


def checked_long_ago(account: ProviderAccount, endpoint: str):
    """Age the account's record of `endpoint` past the recheck interval."""
    long_ago = timezone.now() - timedelta(days=2)
    ProviderAccount.objects.filter(pk=account.pk).update(
        endpoints_not_offered={endpoint: long_ago.isoformat()}
    )
    account.refresh_from_db()
    return long_ago


def test_audian_plans_are_kept_without_rates_when_their_documents_are_not_offered(
    world, faults, client, finance_user
):
    faults.not_offered[AUDIAN_PLAN_DOCUMENT] = 404
    account = world.accounts["audian"]
    run = sync_account(account)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error

    (plan,) = ServicePlan.objects.filter(account=account)
    assert (plan.name, plan.rates) == ("Sandbox numbers plan", {})
    account.refresh_from_db()
    assert account.not_offered == {"service_plan_details": run.started_at}

    client.force_login(finance_user)
    text = page_text(client, reverse("billing:plans"))
    assert f"Rates: not offered by this account (checked {shown(run.started_at)})" in text
    assert "This plan publishes no number rates" not in text


def test_rates_read_before_are_kept_while_plan_documents_are_not_offered(world, faults):
    account = world.accounts["audian"]
    sync_account(account)
    rates = ServicePlan.objects.get(account=account).rates
    assert rates

    faults.not_offered[AUDIAN_PLAN_DOCUMENT] = 404
    run = sync_account(account)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert ServicePlan.objects.get(account=account).rates == rates  # unknown is not zero


@pytest.mark.parametrize("status", [404, 405, 501])
def test_a_tryvox_balance_not_offered_leaves_the_run_succeeded(
    world, faults, status, client, finance_user, capsys
):
    faults.not_offered[TRYVOX_BALANCE] = status
    account = world.accounts["tryvox"]
    call_command("sync", "--account", str(account.pk))  # exits 0: raises nothing

    run = SyncRun.objects.get(account=account)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert "Succeeded" in capsys.readouterr().out
    assert not BalanceSnapshot.objects.filter(account=account).exists()
    account.refresh_from_db()
    assert account.not_offered == {"balance": run.started_at}

    client.force_login(finance_user)
    text = page_text(client, reverse("billing:balances"))
    assert f"Balance: not offered by this account (checked {shown(run.started_at)})" in text


def test_not_offered_is_rechecked_after_a_day_and_cleared_by_an_answer(world, faults):
    faults.not_offered[TRYVOX_BALANCE] = 404
    account = world.accounts["tryvox"]
    first = sync_account(account)
    account.refresh_from_db()
    assert account.not_offered == {"balance": first.started_at}

    # Within a day the endpoint is not asked again: the record keeps its first check.
    second = sync_account(account)
    assert second.status == SyncRun.Status.SUCCEEDED, second.error
    account.refresh_from_db()
    assert account.not_offered == {"balance": first.started_at}

    # After it, the endpoint is asked again; still not there, the check's time moves on.
    checked_long_ago(account, "balance")
    third = sync_account(account)
    account.refresh_from_db()
    assert account.not_offered == {"balance": third.started_at}

    # Once the endpoint answers, the record goes and the balance is read.
    del faults.not_offered[TRYVOX_BALANCE]
    checked_long_ago(account, "balance")
    fourth = sync_account(account)
    assert fourth.status == SyncRun.Status.SUCCEEDED, fourth.error
    account.refresh_from_db()
    assert account.not_offered == {}
    assert BalanceSnapshot.objects.filter(account=account).count() == 1


def test_a_failure_that_is_not_a_missing_endpoint_still_fails_the_step(world):
    account = world.accounts["tryvox"]
    ProviderAccount.objects.filter(pk=account.pk).update(api_secret="wrong-key")
    run = sync_account(ProviderAccount.objects.get(pk=account.pk))
    assert run.status == SyncRun.Status.FAILED
    account.refresh_from_db()
    assert account.not_offered == {}


def test_the_admin_shows_what_the_account_does_not_offer(world, faults, client, admin_user):
    faults.not_offered[TRYVOX_BALANCE] = 501
    account = world.accounts["tryvox"]
    run = sync_account(account)
    client.force_login(admin_user)
    url = reverse("admin:portal_provideraccount_change", args=[account.pk])
    assert 'name="endpoints_not_offered"' not in client.get(url).content.decode()  # read-only
    text = page_text(client, url)
    assert "Endpoints not offered" in text
    assert f"Balance: not offered by this account (checked {shown(run.started_at)})" in text
