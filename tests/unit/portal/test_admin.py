"""The Django admin: every model opens without N+1 queries, credentials are write-only,
and synced or audited history cannot be edited from it."""

import itertools
import json
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from alerts.models import Alert, Delivery, Rule, Subscription, WebhookEndpoint
from billing.models import BalanceSnapshot, ServicePlan, Transaction
from numbers.models import Call, LabelMonth, NumberDay, NumberMonth, NumberOrder, PhoneNumber, Tag
from portal.admin import ProviderAccountForm
from portal.models import AuditEvent, Provider, ProviderAccount, SyncRun
from portal.services.sync import sync_account
from tests.support.factories import (
    AlertFactory,
    AuditEventFactory,
    BalanceSnapshotFactory,
    CallFactory,
    DeliveryFactory,
    GroupFactory,
    LabelMonthFactory,
    NumberDayFactory,
    NumberMonthFactory,
    NumberOrderFactory,
    PhoneNumberFactory,
    ProviderAccountFactory,
    ProviderFactory,
    RuleFactory,
    ServicePlanFactory,
    SubscriptionFactory,
    SyncRunFactory,
    TagFactory,
    TransactionFactory,
    UserFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db

User = get_user_model()
_serial = itertools.count()


@task()
def do_nothing():
    """A background task to queue, so the task-results admin has rows to show."""


def enqueue_task():
    return DBTaskResult.objects.get(pk=do_nothing.enqueue().id)


def sign_in_record(model, **fields):
    """A row of django-axes' sign-in records (failed attempts, sign-ins, failures)."""
    return model.objects.create(
        username=f"user-{next(_serial)}",
        ip_address="192.0.2.10",
        user_agent="pytest",
        http_accept="text/html",
        path_info="/login/",
        **fields,
    )


# One distinct row per call, for every model the admin shows. Rows hang off a new account
# each, so a per-row query for an account (or its provider) shows up as growth.
ROW_FACTORIES = {
    User: UserFactory,
    Group: GroupFactory,
    Provider: lambda: ProviderFactory(slug=f"provider-{next(_serial)}"),
    ProviderAccount: ProviderAccountFactory,
    SyncRun: SyncRunFactory,
    AuditEvent: AuditEventFactory,
    Tag: TagFactory,
    PhoneNumber: PhoneNumberFactory,
    NumberOrder: NumberOrderFactory,
    Transaction: TransactionFactory,
    Call: CallFactory,
    NumberDay: NumberDayFactory,
    NumberMonth: NumberMonthFactory,
    LabelMonth: LabelMonthFactory,
    BalanceSnapshot: BalanceSnapshotFactory,
    ServicePlan: ServicePlanFactory,
    Rule: RuleFactory,
    WebhookEndpoint: WebhookEndpointFactory,
    Subscription: SubscriptionFactory,
    Alert: AlertFactory,
    Delivery: DeliveryFactory,
    DBTaskResult: enqueue_task,
    AccessAttempt: lambda: sign_in_record(
        AccessAttempt, get_data="", post_data="", failures_since_start=1
    ),
    AccessLog: lambda: sign_in_record(AccessLog),
    AccessFailureLog: lambda: sign_in_record(AccessFailureLog),
}
REGISTERED_MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)
READ_ONLY_MODELS = [
    AuditEvent,
    SyncRun,
    Transaction,
    BalanceSnapshot,
    NumberOrder,
    ServicePlan,
    Call,
    NumberDay,
    NumberMonth,
]
BIG_TABLES = [PhoneNumber, Transaction, AuditEvent, SyncRun, Call, NumberDay, NumberMonth]


def model_id(model):
    return model._meta.label


def admin_url(model, view, *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def change_url(obj):
    return admin_url(type(obj), "change", quote(obj.pk))


def make_rows(model, count):
    if model not in ROW_FACTORIES:
        pytest.fail(f"{model_id(model)} is in the admin but has no row factory in this test")
    return [ROW_FACTORIES[model]() for _ in range(count)]


def changelist_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


# --- every admin opens, and its changelist does not query per row ---------------------------


def test_every_model_of_the_portal_apps_is_registered():
    models = {
        model
        for label in ("portal", "numbers", "billing")
        for model in apps.get_app_config(label).get_models()
    }
    assert models - set(admin.site._registry) == set()


@pytest.mark.parametrize("model", REGISTERED_MODELS, ids=model_id)
def test_changelist_queries_do_not_grow_with_rows(admin_client, model):
    url = admin_url(model, "changelist")
    make_rows(model, 2)
    changelist_queries(admin_client, url)  # warm caches (content types, sessions)
    few = changelist_queries(admin_client, url)

    make_rows(model, 18)
    many = changelist_queries(admin_client, url)

    assert len(many) == len(few), "\n".join(many)


@pytest.mark.parametrize("model", REGISTERED_MODELS, ids=model_id)
def test_change_or_view_page_opens(admin_client, model):
    (row,) = make_rows(model, 1)

    response = admin_client.get(change_url(row))

    assert response.status_code == 200


@pytest.mark.parametrize("model", BIG_TABLES, ids=model_id)
def test_big_changelists_count_only_the_filtered_rows(admin_client, model):
    make_rows(model, 3)

    queries = changelist_queries(admin_client, admin_url(model, "changelist") + "?q=no-such-row")

    # One COUNT for the pager; show_full_result_count would add one over the whole table.
    assert sum("COUNT(" in sql.upper() for sql in queries) == 1


def test_site_is_named_for_the_portal(admin_client):
    response = admin_client.get(reverse("admin:index"))

    assert "Number portal administration" in response.text


# --- provider account credentials are write-only ---------------------------------------------


def account_form_data(account, **changes):
    data = {
        "provider": account.provider_id,
        "name": account.name,
        "upstream_account_id": account.upstream_account_id,
        "base_url": account.base_url,
        "currency": account.currency,
        "low_balance_threshold": account.low_balance_threshold or "",
        "is_active": "on",
        "new_api_secret": "",
        "_save": "Save",
    }
    data.update(changes)
    return data


def save_account(client, account, **changes):
    response = client.post(change_url(account), account_form_data(account, **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors
    account.refresh_from_db()
    return response


def stored_secret_column(account):
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_secret FROM portal_provideraccount WHERE id = %s", [account.pk])
        return cursor.fetchone()[0]


def audit_events(action):
    return list(AuditEvent.objects.filter(action=action))


def test_account_page_never_renders_the_stored_secret(admin_client):
    account = ProviderAccountFactory(api_secret="sk-live-do-not-show-4242")

    html = admin_client.get(change_url(account)).text

    assert "sk-live-do-not-show-4242" not in html
    assert stored_secret_column(account) not in html
    assert 'name="api_secret"' not in html
    assert 'type="password" name="new_api_secret"' in html
    assert "Secret set" in html


def test_account_form_has_no_field_for_the_stored_secret():
    # Guards the form itself, for any view that reuses it outside the admin's fieldsets.
    account = ProviderAccountFactory.build(api_secret="sk-live-do-not-show-4242")

    form = ProviderAccountForm(instance=account)

    assert "api_secret" not in form.fields
    assert "sk-live-do-not-show-4242" not in str(form)


def test_account_page_says_whether_a_secret_is_set(admin_client):
    account = ProviderAccountFactory()

    response = admin_client.get(change_url(account))

    assert response.context["adminform"].form.instance.has_secret
    assert '<div class="readonly">yes</div>' in response.text


def test_posting_a_new_secret_replaces_it(admin_client):
    account = ProviderAccountFactory(api_secret="old-secret-1111")

    save_account(admin_client, account, new_api_secret="new-secret-2222")

    assert account.api_secret == "new-secret-2222"


def test_posting_no_secret_keeps_the_stored_one(admin_client):
    account = ProviderAccountFactory(api_secret="old-secret-1111")

    save_account(admin_client, account, name="Renamed")

    assert account.api_secret == "old-secret-1111"
    assert account.name == "Renamed"
    assert audit_events(AuditEvent.Action.CREDENTIAL_CHANGE) == []


def test_a_rejected_form_does_not_echo_the_new_secret(admin_client):
    account = ProviderAccountFactory()

    response = admin_client.post(
        change_url(account), account_form_data(account, name="", new_api_secret="typed-9999")
    )

    assert response.status_code == 200
    assert "typed-9999" not in response.text


def test_secret_is_encrypted_in_the_database(admin_client):
    account = ProviderAccountFactory()

    save_account(admin_client, account, new_api_secret="plaintext-secret-3333")

    stored = stored_secret_column(account)
    assert stored
    assert "plaintext-secret-3333" not in stored


def test_credential_change_is_audited_without_the_secret(admin_client, admin_user):
    account = ProviderAccountFactory(api_secret="old-secret-1111")

    save_account(admin_client, account, new_api_secret="new-secret-2222")

    (event,) = audit_events(AuditEvent.Action.CREDENTIAL_CHANGE)
    assert event.actor == admin_user
    assert event.object_id == str(account.pk)
    assert event.before == {"api_secret": "set"}
    assert event.after == {"api_secret": "changed"}
    recorded = json.dumps([event.before, event.after, event.object_repr])
    assert "secret-1111" not in recorded
    assert "secret-2222" not in recorded


def test_admin_history_does_not_hold_the_secret(admin_client):
    account = ProviderAccountFactory()

    save_account(admin_client, account, new_api_secret="new-secret-2222")

    history = admin_client.get(admin_url(ProviderAccount, "history", account.pk)).text
    assert "new-secret-2222" not in history


def test_clearing_the_secret_is_audited(admin_client):
    account = ProviderAccountFactory()

    save_account(admin_client, account, clear_api_secret="on")

    assert not account.has_secret
    (event,) = audit_events(AuditEvent.Action.CREDENTIAL_CHANGE)
    assert (event.before, event.after) == ({"api_secret": "set"}, {"api_secret": "cleared"})


def test_new_secret_and_clear_together_are_refused(admin_client):
    account = ProviderAccountFactory(api_secret="old-secret-1111")

    response = admin_client.post(
        change_url(account),
        account_form_data(account, new_api_secret="new-secret-2222", clear_api_secret="on"),
    )

    assert response.status_code == 200
    account.refresh_from_db()
    assert account.api_secret == "old-secret-1111"


def test_creating_an_account_requires_a_secret(admin_client):
    provider = ProviderFactory()
    data = account_form_data(ProviderAccountFactory.build(provider=provider))

    response = admin_client.post(admin_url(ProviderAccount, "add"), data)

    assert response.status_code == 200
    assert "new_api_secret" in response.context["adminform"].form.errors
    assert not ProviderAccount.objects.exists()


def test_creating_an_account_stores_and_audits_its_secret(admin_client):
    provider = ProviderFactory()
    data = account_form_data(
        ProviderAccountFactory.build(provider=provider), new_api_secret="first-secret-5555"
    )

    response = admin_client.post(admin_url(ProviderAccount, "add"), data)

    assert response.status_code == 302
    account = ProviderAccount.objects.get()
    assert account.api_secret == "first-secret-5555"
    (event,) = audit_events(AuditEvent.Action.CREDENTIAL_CHANGE)
    assert (event.before, event.after) == ({"api_secret": "not set"}, {"api_secret": "set"})


def test_account_field_changes_are_audited_as_text(admin_client):
    account = ProviderAccountFactory(name="Main", low_balance_threshold=None)

    save_account(admin_client, account, name="Primary", low_balance_threshold="20.5")

    (event,) = audit_events(AuditEvent.Action.ACCOUNT_CHANGE)
    assert event.before == {"name": "Main", "low_balance_threshold": None}
    assert event.after == {"name": "Primary", "low_balance_threshold": "20.5"}


# --- history and upstream data are view-only -------------------------------------------------


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=model_id)
def test_read_only_rows_cannot_be_added(admin_client, model):
    url = admin_url(model, "add")

    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"_save": "Save"}).status_code == 403


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=model_id)
def test_read_only_rows_cannot_be_changed(admin_client, model):
    (row,) = make_rows(model, 1)
    before = model_to_dict(row)
    data = {**dict.fromkeys(before, ""), "_save": "Save"}

    response = admin_client.post(change_url(row), data)

    assert response.status_code == 403
    row.refresh_from_db()
    assert model_to_dict(row) == before


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=model_id)
def test_read_only_rows_cannot_be_deleted(admin_client, model):
    (row,) = make_rows(model, 1)

    response = admin_client.post(admin_url(model, "delete", row.pk), {"post": "yes"})

    assert response.status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=model_id)
def test_read_only_rows_cannot_be_bulk_deleted(admin_client, model):
    (row,) = make_rows(model, 1)

    admin_client.post(
        admin_url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )

    assert model.objects.filter(pk=row.pk).exists()


def test_audit_values_are_pretty_printed_and_escaped(admin_client):
    event = AuditEventFactory(before={"label": "<script>alert(1)</script>"}, after={"label": "ok"})

    html = admin_client.get(change_url(event)).text

    assert "<script>alert(1)</script>" not in html
    assert "&quot;label&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in html
    assert "<pre>{\n  &quot;label&quot;: &quot;ok&quot;\n}</pre>" in html


# --- phone numbers: only the portal's label and tags are editable ---------------------------


def test_number_label_and_tags_are_editable_but_upstream_fields_are_not(admin_client, admin_user):
    # At a provider that keeps labels in the portal alone (Audian's: the test below).
    number = PhoneNumberFactory(label="Old label", account__provider__slug="vobiz")
    tag = TagFactory(name="acme")
    original = number.number

    response = admin_client.post(
        change_url(number),
        {
            "label": "Acme support line",
            "tags": [tag.pk],
            "status": PhoneNumber.Status.RELEASED,
            "number": "+14155559999",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    number.refresh_from_db()
    assert number.label == "Acme support line"
    assert list(number.tags.all()) == [tag]
    assert (number.status, number.number) == (PhoneNumber.Status.ACTIVE, original)
    (event,) = audit_events(AuditEvent.Action.LABEL)
    assert (event.actor, event.before, event.after) == (
        admin_user,
        {"label": "Old label", "tags": []},
        {"label": "Acme support line", "tags": ["acme"]},
    )


def test_a_label_edited_in_the_admin_goes_to_a_provider_that_keeps_labels(admin_client, world):
    """The admin edits through the same service as the number page: Audian gets the label
    first, then the portal stores it (it used to write the row alone)."""
    account = world.accounts["audian"]
    assert sync_account(account, SyncRun.Kind.NUMBERS).status == SyncRun.Status.SUCCEEDED
    number = PhoneNumber.objects.filter(account=account).order_by("number").first()

    response = admin_client.post(change_url(number), {"label": "Night line", "_save": "Save"})

    assert response.status_code == 302
    number.refresh_from_db()
    assert (number.label, number.upstream_label) == ("Night line", "Night line")
    upstream = world.state.owned_number(world.upstream("audian"), number.number)
    assert upstream["label"] == "Night line"


def test_a_label_the_provider_cannot_take_changes_nothing_and_says_why(admin_client):
    number = PhoneNumberFactory(label="Front desk")  # Audian, at an address nobody answers
    tag = TagFactory(name="acme")

    response = admin_client.post(
        change_url(number), {"label": "Night line", "tags": [tag.pk], "_save": "Save"}, follow=True
    )

    number.refresh_from_db()
    assert (number.label, list(number.tags.all())) == ("Front desk", [])
    assert not audit_events(AuditEvent.Action.LABEL)
    assert "Nothing was changed: Audian could not be reached" in response.content.decode()


def test_the_admin_refuses_a_label_every_other_edit_refuses(admin_client):
    number = PhoneNumberFactory(label="Front desk", account__provider__slug="vobiz")

    response = admin_client.post(change_url(number), {"label": "Night\tline", "_save": "Save"})

    assert response.status_code == 200  # the form again, with the error
    assert "without tabs or line breaks" in response.content.decode()
    number.refresh_from_db()
    assert number.label == "Front desk"


def test_numbers_cannot_be_added_or_deleted_in_the_admin(admin_client):
    number = PhoneNumberFactory()

    assert admin_client.get(admin_url(PhoneNumber, "add")).status_code == 403
    assert admin_client.post(admin_url(PhoneNumber, "delete", number.pk)).status_code == 403


# --- money is always shown with its currency -------------------------------------------------


def test_transaction_amounts_are_shown_with_their_currency(admin_client):
    TransactionFactory(amount=Decimal("25"), currency="USD")
    TransactionFactory(amount=Decimal("7.5"), currency="INR")
    TransactionFactory(amount=Decimal("0.0085"), currency="USD")

    html = admin_client.get(admin_url(Transaction, "changelist")).text

    # As every page writes money (the `money` filter): two places unless sub-cent digits.
    assert "25.00 USD" in html
    assert "7.50 INR" in html
    assert "0.0085 USD" in html
    assert "32.5" not in html


def test_thresholds_are_shown_as_money(admin_client):
    """Issue 17 (9): thresholds read "50.0000 USD"."""
    ProviderAccountFactory(low_balance_threshold=Decimal("50"), currency="USD")
    ProviderAccountFactory(low_balance_threshold=Decimal("12345.5"), currency="INR")

    html = admin_client.get(admin_url(ProviderAccount, "changelist")).text

    assert "50.00 USD" in html
    assert "12,345.50 INR" in html
    assert "50.0000" not in html


# --- provider accounts are deactivated, not deleted, in bulk --------------------------------


def test_accounts_are_deactivated_in_bulk_not_deleted(admin_client, admin_user):
    """Issue 17 (9): "Delete selected" always ended in "Cannot delete" (numbers and
    transactions keep an account); deactivating is what an admin can do."""
    kept, stopped, off = (
        ProviderAccountFactory(name="Kept"),
        ProviderAccountFactory(name="Stopped"),
        ProviderAccountFactory(name="Off", is_active=False),
    )
    PhoneNumberFactory(account=stopped)
    url = admin_url(ProviderAccount, "changelist")

    actions = admin_client.get(url).context["action_form"].fields["action"].choices
    assert [name for name, _ in actions if name] == ["deactivate_selected"]
    assert dict(actions)["deactivate_selected"] == "Deactivate selected accounts"

    response = admin_client.post(
        url,
        {"action": "deactivate_selected", "_selected_action": [stopped.pk, off.pk]},
        follow=True,
    )

    assert [str(message) for message in response.context["messages"]] == [
        "Deactivated 1 account: Stopped. Inactive accounts are neither synced nor searched."
    ]
    assert ProviderAccount.objects.filter(is_active=True).get() == kept
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCOUNT_CHANGE)
    assert (event.actor, event.object_id) == (admin_user, str(stopped.pk))
    assert (event.before, event.after) == ({"is_active": "True"}, {"is_active": "False"})
    # Bulk deletion stays refused, even posted by hand.
    admin_client.post(
        url, {"action": "delete_selected", "_selected_action": [kept.pk], "post": "yes"}
    )
    assert ProviderAccount.objects.filter(pk=kept.pk).exists()


# --- users show their role ------------------------------------------------------------------


def test_the_user_list_shows_each_role(admin_client, admin_user, support_user, plain_user):
    """Issue 17 (9): no column said who is an administrator, support or finance."""
    both = UserFactory(username="bo-both", groups=["Support", "Finance"])
    url = admin_url(User, "changelist")

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url)
    page = response.context["cl"]

    roles = {user.username: page.model_admin.role(user) for user in page.result_list}
    assert roles == {
        admin_user.username: "Administrator",
        support_user.username: "Support",
        both.username: "Finance, Support",
        plain_user.username: "No role",
    }
    assert '<th scope="col" class="column-role">' in response.text.replace("\n", "")
    UserFactory.create_batch(3, groups=["Finance"])
    assert len(changelist_queries(admin_client, url)) == len(queries.captured_queries)


# --- only admins get in ----------------------------------------------------------------------


@pytest.mark.parametrize("role_user", ["support_user", "finance_user"])
def test_staff_roles_without_admin_rights_are_sent_to_the_admin_login(client, request, role_user):
    client.force_login(request.getfixturevalue(role_user))

    for url in (reverse("admin:index"), admin_url(Transaction, "changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
