"""Provider credentials: encrypted at rest, and never in a page, an export, a log line or the
audit log, whoever looks. The accounts are synced from the sandbox over real HTTP, so every
page and export has real rows that belong to accounts with secrets."""

import io
import logging
import zipfile

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from numbers.models import PhoneNumber
from portal.models import AuditEvent, ProviderAccount, SyncRun
from portal.providers.sandbox import build_state
from portal.providers.sandbox.accounts import DEMO_ACCOUNTS
from portal.services.sync import sync_account
from tests.support.factories import ProviderAccountFactory
from tests.support.world import World, serve

SECRETS = [account.secret for account in DEMO_ACCOUNTS]
WRONG_SECRET = "sk-live-wrong-secret-31337"


def raw_secret_column(account) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_secret FROM portal_provideraccount WHERE id = %s", [account.pk])
        return cursor.fetchone()[0]


def leaked(text: str) -> list[str]:
    return [secret for secret in (*SECRETS, WRONG_SECRET) if secret in text]


def body(response) -> str:
    """The text a person gets: a page, or a CSV or XLSX download (a zip of XML parts)."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "".join(archive.read(name).decode() for name in archive.namelist())
    return content.decode("utf-8-sig")


@pytest.fixture
def sandbox(db):
    state = build_state(numbers=8, transactions=10, inventory=3)
    with serve(state) as url:
        yield World(state, url)


@pytest.fixture
def synced(sandbox, admin_user):
    for account in sandbox.accounts.values():
        run = sync_account(account, actor=admin_user)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return sandbox


# --- at rest -----------------------------------------------------------------------------


def test_the_database_column_holds_ciphertext_that_reads_back_as_the_secret(db):
    account = ProviderAccountFactory(api_secret="sk-live-plaintext-4242")

    stored = raw_secret_column(account)

    assert "sk-live-plaintext-4242" not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token: version byte 0x80, base64
    assert ProviderAccount.objects.get(pk=account.pk).api_secret == "sk-live-plaintext-4242"


def test_the_same_secret_encrypts_differently_each_time(db):
    first = ProviderAccountFactory(api_secret="sk-live-same-1111")
    second = ProviderAccountFactory(api_secret="sk-live-same-1111")

    assert raw_secret_column(first) != raw_secret_column(second)


# --- pages -------------------------------------------------------------------------------


def project_pages(number, account):
    """Every named page of the portal (not the admin), with a real number and account."""
    arguments = {"pk": number.pk, "account_id": account.pk}

    def walk(patterns, namespace=None):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.app_name != "admin":
                    yield from walk(entry.url_patterns, entry.namespace or namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                kwargs = {key: arguments[key] for key in entry.pattern.converters}
                yield reverse(name, kwargs=kwargs or None)

    return list(walk(get_resolver().url_patterns))


def admin_pages():
    """Each admin's list, and the change (or view) and history pages of its first rows."""
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        yield reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        for pk in model_admin.get_queryset(None).values_list("pk", flat=True)[:3]:
            for view in ("change", "history"):
                yield reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[quote(pk)])


def test_no_page_shows_a_secret_even_to_an_admin(client, admin_user, synced):
    client.force_login(admin_user)
    account = synced.accounts["audian"]
    # Changed once through the admin, so the audit log and history have a credential change.
    client.post(
        reverse("admin:portal_provideraccount_change", args=[account.pk]),
        {
            "provider": account.provider_id,
            "name": account.name,
            "upstream_account_id": account.upstream_account_id,
            "base_url": account.base_url,
            "currency": account.currency,
            "is_active": "on",
            "new_api_secret": WRONG_SECRET,
        },
    )
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIAL_CHANGE).exists()
    number = PhoneNumber.objects.filter(account=account).first()

    pages = [reverse("admin:index"), *admin_pages(), *project_pages(number, account)]
    shown = {}
    for url in pages:
        response = client.get(url, {"q": account.name} if url.endswith("/") else None)
        if response.status_code == 200:
            shown[url] = leaked(body(response))

    assert reverse("admin:portal_provideraccount_change", args=[account.pk]) in shown
    assert reverse("numbers:detail", args=[number.pk]) in shown
    assert len(shown) > 50
    assert {url: secrets for url, secrets in shown.items() if secrets} == {}


# --- exports -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url_name", "params"),
    [
        ("numbers:list", {"_export": "csv"}),
        ("numbers:list", {"_export": "xlsx"}),
        ("billing:transactions_csv", {}),
        ("billing:transactions_xlsx", {}),
    ],
)
def test_exports_hold_no_secret(client, admin_user, synced, url_name, params):
    client.force_login(admin_user)

    response = client.get(reverse(url_name), params)

    assert response.status_code == 200
    text = body(response)
    assert "Audian sandbox" in text  # the rows are there, with their account
    assert leaked(text) == []


# --- logs --------------------------------------------------------------------------------


@pytest.fixture
def every_log_line(caplog):
    """Every record of every logger, at DEBUG, as the handlers would write it."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "portal", "numbers", "billing", "django"):
        caplog.set_level(logging.DEBUG, logger=name)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")

    def lines():
        return "\n".join(formatter.format(record) for record in caplog.records)

    return lines


def test_a_sync_logs_no_secret(sandbox, admin_user, every_log_line):
    for account in sandbox.accounts.values():
        assert sync_account(account, actor=admin_user).status == SyncRun.Status.SUCCEEDED

    logged = every_log_line()
    assert "portal.providers" in logged  # one line per upstream call
    assert "audian" in logged.lower()
    assert leaked(logged) == []


def test_a_rejected_secret_is_not_logged_or_recorded(sandbox, admin_user, every_log_line):
    account = sandbox.accounts["vobiz"]
    account.api_secret = WRONG_SECRET
    account.save()

    run = sync_account(account, actor=admin_user)

    assert run.status == SyncRun.Status.FAILED
    assert run.error
    logged = every_log_line()
    assert "401" in logged or "403" in logged
    assert leaked(logged) == []
    assert leaked(run.error) == []
    events = AuditEvent.objects.filter(object_id=str(account.pk))
    assert leaked(repr(list(events.values_list("before", "after", "object_repr")))) == []
