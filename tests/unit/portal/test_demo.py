"""`manage.py demo`: a login per role, and one account per sandbox built-in account whose
data is synced from the sandbox world, so the database equals the sandbox; once, then never
again. Every run uses a state file under tmp_path, never var/."""

import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from billing.models import BalanceSnapshot, ServicePlan, Transaction
from numbers.models import Call, NumberOrder, PhoneNumber, Tag
from portal.models import AuditEvent, Provider, ProviderAccount, SyncRun
from portal.providers import adapter_class
from portal.providers.capabilities import Capability
from portal.providers.sandbox import DEMO_CALLS, build_state
from portal.providers.sandbox.accounts import DEMO_ACCOUNTS
from portal.roles import FINANCE, SUPPORT
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()

API_PATHS = {
    "audian": "/audian/v2",
    "vobiz": "/vobiz/api/v1",
    "ravan": "/ravan/api/v1",
    "tryvox": "/tryvox/v1",
}


@pytest.fixture
def state_path(tmp_path):
    return tmp_path / "sandbox-state.json"


@pytest.fixture
def run_demo(state_path):
    def run(*args):
        out = StringIO()
        call_command("demo", "--sandbox-state", str(state_path), *args, stdout=out)
        return out.getvalue()

    return run


def shown_passwords(output):
    """{username: password} from the "shown once" block, empty when there is none."""
    _, heading, block = output.partition("Demo logins (shown once")
    return dict(re.findall(r"^\s+(\w+)\s+/ (\S+)", block, re.MULTILINE)) if heading else {}


def can_log_in(username, password):
    request = RequestFactory().post("/login/")
    return authenticate(request, username=username, password=password) is not None


def database_rows():
    """Every row of every model the demo could touch, as tuples of all column values."""
    models = [
        User,
        User.groups.through,
        Group,
        Provider,
        ProviderAccount,
        SyncRun,
        AuditEvent,
        PhoneNumber,
        PhoneNumber.tags.through,
        Tag,
        NumberOrder,
        Transaction,
        BalanceSnapshot,
        ServicePlan,
    ]
    return {
        model._meta.label: list(
            model.objects.order_by("pk").values_list(
                *(f.attname for f in model._meta.concrete_fields)
            )
        )
        for model in models
    }


def account(slug):
    return ProviderAccount.objects.get(provider__slug=slug)


def stored_secret(acc):
    """The api_secret column as the database holds it."""
    table = connection.ops.quote_name(ProviderAccount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT api_secret FROM {table} WHERE id = %s", [acc.pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_first_run_creates_one_user_per_role_and_prints_passwords_that_work(run_demo):
    output = run_demo()

    passwords = shown_passwords(output)
    assert set(passwords) == {"admin", "support", "finance"}
    assert len(set(passwords.values())) == 3
    for username, password in passwords.items():
        assert len(password) >= 20
        assert output.count(password) == 1
        assert can_log_in(username, password)
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not admin.groups.exists()
    for username, group in [("support", SUPPORT), ("finance", FINANCE)]:
        user = User.objects.get(username=username)
        assert [g.name for g in user.groups.all()] == [group]
        assert not user.is_staff and not user.is_superuser


def test_one_account_per_sandbox_account_with_its_secret_encrypted(run_demo):
    output = run_demo("--sandbox-url", "http://sandbox.test:9000/")

    providers = {p.slug: p.name for p in Provider.objects.all()}
    assert providers == {"audian": "Audian", "vobiz": "Vobiz", "ravan": "Ravan", "tryvox": "TryVox"}
    assert ProviderAccount.objects.count() == len(DEMO_ACCOUNTS) == 4
    for spec in DEMO_ACCOUNTS:
        acc = account(spec.provider)
        assert acc.base_url == f"http://sandbox.test:9000{API_PATHS[spec.provider]}"
        assert acc.base_url in output
        assert (acc.upstream_account_id, acc.name, acc.currency) == (
            spec.account_id,
            spec.name,
            spec.currency,
        )
        assert acc.api_secret == spec.secret
        raw = stored_secret(acc)
        assert raw and spec.secret not in raw
        assert acc.low_balance_threshold > 0
        assert acc.is_active
    assert output.count("account created") == 4


def test_after_the_demo_the_database_equals_the_sandbox_world(run_demo, state_path):
    output = run_demo()

    state = build_state(state_path)  # the world the demo wrote, as the sandbox will load it
    for spec in DEMO_ACCOUNTS:
        acc, upstream = account(spec.provider), state.account(spec.provider, spec.account_id)
        active = acc.numbers.filter(status=PhoneNumber.Status.ACTIVE)
        owned = {record["e164"] for record in state.owned_numbers(upstream)}
        assert owned and set(active.values_list("number", flat=True)) == owned
        transactions = acc.transactions.all()
        if adapter_class(spec.provider).supports(Capability.TRANSACTIONS):
            assert set(transactions.values_list("upstream_id", "amount", "currency", "number")) == {
                (row["id"], Decimal(row["amount"]), row["currency"], row["e164"])
                for row in state.transactions(upstream)
            }
            assert not transactions.filter(is_estimate=True).exists()
        else:  # Ravan and TryVox: the rentals estimated from the numbers' fees
            assert transactions.exists()
            assert set(transactions.values_list("is_estimate", "kind")) == {
                (True, Transaction.Kind.RECURRING)
            }
        assert [s.balance for s in acc.balance_snapshots.all()] == [state.balance(upstream)]
        # Every call of the sandbox's, once.
        calls = state.data["calls"][f"{acc.provider.slug}:{upstream['account_id']}"]
        assert len(calls) == DEMO_CALLS
        assert set(Call.objects.filter(account=acc).values_list("upstream_id", flat=True)) == {
            call[0] for call in calls
        }
        run = acc.sync_runs.get()
        assert (run.status, run.triggered_by) == (SyncRun.Status.SUCCEEDED, None)
        assert f"{run.rows_created} rows" in output
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SYNC).count() == 4
    assert "synced numbers, estimated rentals, call records and balance" in output


def test_second_run_even_weeks_later_writes_nothing_and_prints_no_password(run_demo, state_path):
    first_output = run_demo()
    before, world = database_rows(), state_path.read_bytes()

    # Weeks later a sync would estimate new rentals: the demo must not sync again.
    weeks_later = timezone.now() + timedelta(days=45)
    with mock.patch("django.utils.timezone.now", return_value=weeks_later):
        second_output = run_demo()

    assert database_rows() == before
    assert state_path.read_bytes() == world
    assert shown_passwords(second_output) == {}
    assert "shown once" not in second_output
    for password in shown_passwords(first_output).values():
        assert password not in second_output
    assert second_output.count("already synced on") == 4
    assert "Nothing new" in second_output
    assert "python manage.py demo --reset-passwords" in second_output


def test_reset_passwords_prints_new_passwords_that_replace_the_old_ones(run_demo):
    old = shown_passwords(run_demo())
    before = database_rows()

    output = run_demo("--reset-passwords")

    new = shown_passwords(output)
    assert set(new) == {"admin", "support", "finance"}
    for username, password in new.items():
        assert password != old[username]
        assert can_log_in(username, password)
        assert not can_log_in(username, old[username])
    after = database_rows()
    assert after.pop("auth.User") != before.pop("auth.User")
    assert after == before


def test_existing_user_keeps_its_password_and_gets_its_role(run_demo):
    UserFactory(username="support")

    output = run_demo()

    assert set(shown_passwords(output)) == {"admin", "finance"}
    assert "already set up: support (Support)" in output
    assert can_log_in("support", "correct-horse-battery")
    assert User.objects.get(username="support").groups.filter(name=SUPPORT).exists()


def test_a_moved_sandbox_re_points_the_accounts_and_syncs_nothing(run_demo):
    run_demo("--sandbox-url", "http://sandbox.test:9000")
    runs = list(SyncRun.objects.values_list("pk", flat=True))

    output = run_demo()

    assert account("vobiz").base_url == "http://127.0.0.1:8100/vobiz/api/v1"
    assert output.count("account re-pointed") == 4
    assert list(SyncRun.objects.values_list("pk", flat=True)) == runs


@pytest.mark.parametrize(
    "url",
    ["localhost:8100", "ftp://127.0.0.1:8100", "http://127.0.0.1:8100/sandbox", "http://h?x=1"],
)
def test_a_bad_sandbox_url_is_refused_before_anything_is_written(run_demo, state_path, url):
    with pytest.raises(CommandError, match="--sandbox-url"):
        run_demo("--sandbox-url", url)
    assert not User.objects.exists()
    assert not Provider.objects.exists()
    assert not state_path.exists()


def test_an_unreadable_state_file_is_refused(run_demo, state_path):
    state_path.write_text("not json")
    with pytest.raises(CommandError, match="not a usable sandbox state file"):
        run_demo()
    assert not User.objects.exists()


def test_when_an_account_cannot_sync_nothing_is_saved(run_demo, state_path):
    # A world without TryVox's built-in account: its secret is refused.
    build_state(state_path, accounts=[a for a in DEMO_ACCOUNTS if a.provider != "tryvox"])

    with pytest.raises(CommandError, match="could not be synced") as refused:
        run_demo()

    assert "TryVox" in str(refused.value)
    assert not User.objects.exists()
    assert not SyncRun.objects.exists()
    assert not PhoneNumber.objects.exists()
