"""The simulated world the unit, reliability and browser tests sync and buy against: the
sandbox's four providers served on loopback (`serve`), and the portal's accounts pointing at
them (`World`); or, for a test that only syncs, the same without a socket (`in_process`).
A plugin (tests/conftest.py): the `world` fixture is everyone's; a module that defines its
own `world` uses its own."""

from decimal import Decimal

import httpx
import pytest

from numbers.models import PhoneNumber
from portal.models import Provider, ProviderAccount, SyncRun
from portal.providers.base import AccountConfig
from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.accounts import DEMO_ACCOUNTS
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from portal.providers.sandbox.state import SandboxError
from portal.services.sync import sync_account
from tests.support.sandbox import API_PATHS

SLUGS = [account.provider for account in DEMO_ACCOUNTS]
# The origin of an in-process world's accounts: no socket answers it, only its transport.
IN_PROCESS_ORIGIN = "http://sandbox.in-process"


class World:
    """A sandbox on a loopback port and the portal's accounts pointing at it; in process,
    `transport` carries their requests instead (pass it to `sync_account`)."""

    def __init__(self, state, url, transport=None):
        self.state = state
        self.url = url
        self.transport = transport
        self.accounts = {spec.provider: self.portal_account(spec) for spec in DEMO_ACCOUNTS}

    def portal_account(self, spec, **fields) -> ProviderAccount:
        """The portal's account for the sandbox account `spec` (a SandboxAccount), pointing
        at this world; `fields` set more of its columns."""
        provider, _ = Provider.objects.get_or_create(
            slug=spec.provider, defaults={"name": spec.provider.capitalize()}
        )
        return ProviderAccount.objects.create(
            provider=provider,
            name=spec.name,
            upstream_account_id=spec.account_id,
            base_url=f"{self.url}{API_PATHS[spec.provider]}",
            api_secret=spec.secret,
            currency=spec.currency,
            **fields,
        )

    def config(self, slug):
        account = self.accounts[slug]
        return AccountConfig(account.base_url, account.upstream_account_id, account.api_secret)

    def upstream(self, slug):
        spec = next(a for a in DEMO_ACCOUNTS if a.provider == slug)
        return self.state.account(slug, spec.account_id)


def serve(state, faults=None):
    return SandboxThread(build_app(state, faults or FaultConfig()))


def in_process(state, faults=None) -> World:
    """A world without a socket: the sandbox app answers through httpx.WSGITransport, as
    `manage.py demo` syncs. For tests that only sync (a page that calls the provider itself
    connects to the account's URL, and needs `serve`); the adapters' own tests keep real
    HTTP on loopback (tests/contract)."""
    app = build_app(state, faults or FaultConfig())
    return World(state, IN_PROCESS_ORIGIN, transport=httpx.WSGITransport(app=app))


def sync_every_account(world: World) -> World:
    """Sync each of the world's accounts, each run succeeding."""
    for account in world.accounts.values():
        run = sync_account(account, transport=world.transport)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return world


def synced_number(world: World, slug: str) -> PhoneNumber:
    """The first number of the provider's account, synced into the portal."""
    account = world.accounts[slug]
    run = sync_account(account, SyncRun.Kind.NUMBERS, transport=world.transport)
    assert run.status == SyncRun.Status.SUCCEEDED
    return PhoneNumber.objects.filter(account=account).order_by("number").first()


@pytest.fixture
def world(db):
    state = build_state(numbers=30, transactions=25, inventory=6)
    with serve(state) as url:
        yield World(state, url)


class FailingAfter(httpx.HTTPTransport):
    """Real HTTP to the sandbox, asking it to answer 500 to every request for a path ending
    in `path_end` after the first `allowed` ones: an upstream failing part way."""

    def __init__(self, path_end: str, allowed: int):
        super().__init__()
        self.path_end, self.allowed, self.sent = path_end, allowed, 0

    def handle_request(self, request):
        if request.url.path.endswith(self.path_end):
            self.sent += 1
            if self.sent > self.allowed:
                request.headers["X-Sandbox-Fault"] = "500"
        return super().handle_request(request)


def buy_until(state, upstream, provider, below, **filters):
    """Buy the provider's dearest numbers first until the account holds less than `below`."""
    offers = sorted(
        state.search_inventory(provider, **filters),
        key=lambda offer: -(Decimal(offer["setup_fee"]) + Decimal(offer["monthly_fee"])),
    )
    for offer in offers:
        if state.balance(upstream) < below:
            break
        try:
            state.buy(upstream, offer["e164"])
        except SandboxError:
            continue  # taken, or dearer than what is left
    assert state.balance(upstream) < below, "the inventory ran out before the balance did"
