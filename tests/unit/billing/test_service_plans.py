"""Service plans: synced from the Audian sandbox, in process (rates kept as decimal strings,
nothing written when nothing changed), shown per account, "not offered" elsewhere."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import ServicePlan
from billing.services.plans import sync_service_plans
from portal.models import SyncRun
from portal.providers import adapter_for
from portal.providers.sandbox import build_state
from portal.providers.sandbox.simulated import PROVIDERS
from portal.roles import SUPPORT
from portal.services.sync import steps_for, sync_account
from tests.support.factories import ProviderAccountFactory, ServicePlanFactory, grant
from tests.support.world import in_process


@pytest.fixture
def world(db):
    return in_process(build_state(numbers=4, transactions=4, inventory=2))


def catalog_rates(slug):
    """What the sandbox prices per kind of number: monthly rate and activation charge."""
    return {
        (entry.monthly_fee, entry.setup_fee)
        for entry in PROVIDERS[slug].catalog
        if entry.country == "US"
    }


def test_a_full_sync_stores_audians_plans_with_decimal_string_rates(world):
    account = world.accounts["audian"]
    run = sync_account(account, transport=world.transport)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error

    (plan,) = ServicePlan.objects.filter(account=account)
    assert plan.name == "Sandbox numbers plan"
    assert plan.synced_at == run.started_at
    rates = list(plan.rates.values())
    assert all(
        isinstance(rate[key], str) for rate in rates for key in ("rate", "activation_charge")
    )
    assert {(Decimal(rate["rate"]), Decimal(rate["activation_charge"])) for rate in rates} == {
        (Decimal(monthly), Decimal(setup)) for monthly, setup in catalog_rates("audian")
    }


def test_a_second_sync_writes_nothing_and_a_changed_plan_is_put_right(world):
    account = world.accounts["audian"]
    sync_account(account, transport=world.transport)
    plan = ServicePlan.objects.get(account=account)
    with adapter_for(account, transport=world.transport) as adapter:
        again = sync_service_plans(account, adapter, now=plan.synced_at)
    assert (again.fetched, again.created, again.updated) == (1, 0, 0)

    upstream_rates = plan.rates
    ServicePlan.objects.filter(pk=plan.pk).update(rates={"did_us": {"rate": "9.99"}})
    gone = ServicePlanFactory(account=account, upstream_id="retired_plan")
    run = sync_account(account, transport=world.transport)
    assert run.rows_updated >= 2
    plan.refresh_from_db()
    assert plan.rates == upstream_rates
    assert not ServicePlan.objects.filter(pk=gone.pk).exists()


def test_providers_without_plans_are_not_asked(world):
    account = world.accounts["ravan"]
    with adapter_for(account, transport=world.transport) as adapter:
        counts = sync_service_plans(account, adapter, now=account.created_at)
    assert (counts.fetched, counts.from_upstream) == (0, False)
    assert sync_account(account, transport=world.transport).status == SyncRun.Status.SUCCEEDED
    assert not ServicePlan.objects.exists()


def test_everything_includes_plans_and_each_only_kind_keeps_to_its_own():
    def step_names(kind):
        return [step.__name__ for _, step in steps_for(kind)]

    assert "sync_service_plans" in step_names(SyncRun.Kind.ALL)
    for kind in (SyncRun.Kind.NUMBERS, SyncRun.Kind.TRANSACTIONS, SyncRun.Kind.BALANCE):
        assert "sync_service_plans" not in step_names(kind)
    assert step_names(SyncRun.Kind.BALANCE) == ["snapshot_balance"]


def test_the_page_shows_each_accounts_plans_or_says_none_are_offered(client, finance_user, world):
    sync_account(world.accounts["audian"], transport=world.transport)
    client.force_login(finance_user)
    response = client.get(reverse("billing:plans"))
    html = " ".join(response.content.decode().split())

    audian = html[html.index(f'data-account="{world.accounts["audian"].pk}"') :]
    audian = audian[: audian.index("</section>")]
    assert "Sandbox numbers plan" in audian
    assert "US toll-free" in audian and "1.99 USD" in audian and "2.00 USD" in audian
    assert "US DID" in audian and "0.99 USD" in audian
    for slug, name in (("ravan", "Ravan"), ("vobiz", "Vobiz"), ("tryvox", "Tryvox")):
        section = html[html.index(f'data-account="{world.accounts[slug].pk}"') :]
        section = section[: section.index("</section>")]
        assert f"Service plans are not offered by {name}." in section


def test_an_account_whose_plans_are_not_synced_yet(client, finance_user, db):
    ProviderAccountFactory(name="Audian new")
    client.force_login(finance_user)
    html = client.get(reverse("billing:plans")).content.decode()
    assert 'data-testid="plans-empty"' in html
    assert "No plans synced yet" in html


def test_no_accounts(client, finance_user):
    client.force_login(finance_user)
    assert (
        'data-testid="plans-no-accounts"' in client.get(reverse("billing:plans")).content.decode()
    )


def test_support_is_refused_until_an_admin_grants_plans(client, support_user):
    client.force_login(support_user)
    assert client.get(reverse("billing:plans")).status_code == 403
    grant(SUPPORT, "view_serviceplan")
    assert client.get(reverse("billing:plans")).status_code == 200
