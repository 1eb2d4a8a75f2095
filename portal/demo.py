"""Demo data for a fresh machine: one login per role, and one provider account per upstream
on the sandbox's built-in account, loaded by syncing it from the sandbox.

The sandbox is the demo's only source of data. Each account is synced in process (no server,
no network) from the same world, the sandbox's state file, that `manage.py sandbox` serves
afterwards, so the portal and the sandbox agree from the first page view and later syncs
bring only what changed. What exists is never changed, except accounts following a moved
sandbox and passwords when asked: once created, it belongs to the people using the portal.
"""

import secrets
from dataclasses import dataclass
from decimal import Decimal

import httpx
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from portal.models import Provider, ProviderAccount, SyncRun
from portal.providers import adapter_class
from portal.providers.sandbox import base_url, build_app
from portal.providers.sandbox.accounts import DEMO_ACCOUNTS
from portal.providers.sandbox.state import SandboxState
from portal.roles import FINANCE, SUPPORT
from portal.services.sync import sync_account

DEFAULT_SANDBOX_URL = "http://127.0.0.1:8100"


@dataclass(frozen=True)
class DemoProvider:
    docs_url: str
    low_balance_threshold: Decimal  # in the currency of the sandbox account


DEMO_PROVIDERS = {
    "audian": DemoProvider("https://docs.audian.com", Decimal(50)),
    "vobiz": DemoProvider("https://docs.vobiz.ai", Decimal(2000)),
    # Above the sandbox account's 40 credits, so the demo shows a low-balance warning.
    "ravan": DemoProvider("https://docs.ravan.ai", Decimal(50)),
    "tryvox": DemoProvider("https://docs.tryvox.io", Decimal(20)),
}

DEMO_USERS = (("admin", None), ("support", SUPPORT), ("finance", FINANCE))


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str | None  # only when it was just set


@dataclass
class DemoAccount:
    account: ProviderAccount
    status: str  # created, re-pointed or unchanged
    run: SyncRun | None = None  # the sync that loaded its data, when this run loaded it


def ensure_demo_users(*, reset_passwords: bool = False) -> list[DemoLogin]:
    """Create the missing demo users with random passwords; give existing ones new passwords
    only when asked. Returns each login, with the password where one was just set."""
    User = get_user_model()
    logins = []
    for username, group_name in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        is_new = user is None
        if is_new:
            user = User(username=username, email=f"{username}@example.com")
        password = secrets.token_urlsafe(16) if is_new or reset_passwords else None
        changed = password is not None
        if password:
            user.set_password(password)
        if group_name is None and not (user.is_staff and user.is_superuser):
            user.is_staff = user.is_superuser = True
            changed = True
        if changed:
            user.save()
        if group_name:
            user.groups.add(Group.objects.get(name=group_name))
        logins.append(DemoLogin(username, group_name or "staff + superuser", password))
    return logins


def ensure_demo_accounts(sandbox_url: str) -> list[DemoAccount]:
    """One provider and one account per sandbox built-in account, with its id and secret;
    an existing account is only re-pointed when the sandbox moved."""
    demo_accounts = []
    for spec in DEMO_ACCOUNTS:
        demo = DEMO_PROVIDERS[spec.provider]
        provider, _ = Provider.objects.get_or_create(
            slug=spec.provider,
            defaults={"name": adapter_class(spec.provider).name, "docs_url": demo.docs_url},
        )
        url = base_url(sandbox_url, spec.provider)
        account, created = ProviderAccount.objects.get_or_create(
            provider=provider,
            upstream_account_id=spec.account_id,
            defaults={
                "name": spec.name,
                "base_url": url,
                "api_secret": spec.secret,
                "currency": spec.currency,
                "low_balance_threshold": demo.low_balance_threshold,
            },
        )
        status = "created" if created else "unchanged"
        if account.base_url != url:
            account.base_url = url
            account.save(update_fields=["base_url", "updated_at"])
            status = "re-pointed"
        demo_accounts.append(DemoAccount(account, status))
    return demo_accounts


def sync_from_sandbox(demo_accounts: list[DemoAccount], state: SandboxState) -> None:
    """Sync each account that never synced successfully from the sandbox world `state`,
    in process; each one synced gets its run."""
    transport = httpx.WSGITransport(app=build_app(state))
    for demo in demo_accounts:
        if not demo.account.sync_runs.filter(status=SyncRun.Status.SUCCEEDED).exists():
            demo.run = sync_account(demo.account, transport=transport)
