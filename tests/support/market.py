"""The market the buying tests shop in: the four sandbox providers on loopback with stock to
buy (`Market`, a `World` that can search and buy), and the buy dialog as a client posts it.
A plugin (tests/conftest.py): the `market` fixture is everyone's; a module that defines its
own `market` uses its own."""

import uuid

import pytest
from django.urls import reverse

from numbers.selectors import offers, search
from numbers.services import purchase
from portal.models import ProviderAccount
from portal.providers.base import AvailableNumber, SearchQuery
from portal.providers.sandbox import PROVIDERS, build_app
from portal.providers.sandbox.accounts import DEMO_ACCOUNTS
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from portal.providers.sandbox.state import CatalogEntry, SandboxAccount, SandboxState
from tests.support.sandbox import API_PATHS
from tests.support.world import World

# Vobiz's demo stock is Indian; the market below adds a US block so that one US search
# reaches all four providers (its demo account may still buy only in India).
VOBIZ_US_BLOCK = CatalogEntry("US", "CA", "+1707", 7, "local", "80", "150", ("voice", "sms"))
HTMX_DIALOG = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "buy-dialog-content"}


def market_state(inventory: int = 8) -> SandboxState:
    catalogs = {slug: provider.catalog for slug, provider in PROVIDERS.items()}
    catalogs["vobiz"] = (*catalogs["vobiz"], VOBIZ_US_BLOCK)
    return SandboxState.generate(
        catalogs, DEMO_ACCOUNTS, numbers=3, transactions=2, inventory=inventory
    )


def with_fault_on_writes(app, fault: str):
    """The sandbox, but every write (POST) asks it for `fault` (X-Sandbox-Fault), as a
    flaky network or upstream would do it to a purchase."""

    def application(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            environ["HTTP_X_SANDBOX_FAULT"] = fault
        return app(environ, start_response)

    return application


class Market(World):
    """The four sandbox providers on loopback, the portal's accounts pointing at them."""

    def upstream_account(self, slug):
        return self.upstream(slug)

    def purchases(self, slug) -> int:
        return self.state.purchase_count(self.upstream(slug))

    def point(self, slug, url):
        """Send an account's requests to another server (a faulty or dead one)."""
        account = self.accounts[slug]
        ProviderAccount.objects.filter(pk=account.pk).update(base_url=f"{url}{API_PATHS[slug]}")
        account.refresh_from_db()

    def offer(self, slug, country="US") -> AvailableNumber:
        """The first number the account's provider offers, as the search finds it."""
        results = search.search_numbers(SearchQuery(country=country))
        return next(
            offer.available for offer in results.offers if offer.account.provider.slug == slug
        )

    def buy(self, slug, available=None, *, key=None, label="", user=None):
        return purchase.purchase_number(
            account=self.accounts[slug],
            available=available or self.offer(slug, "IN" if slug == "vobiz" else "US"),
            idempotency_key=key or uuid.uuid4(),
            label=label,
            actor=user,
        )

    def take_upstream(self, slug, number):
        """Someone else, at the same provider, buys `number` first."""
        rival = self.state.add_account(
            SandboxAccount(provider=slug, account_id=f"rival-{slug}", secret=f"rival-{slug}")
        )
        self.state.buy(rival, number)


@pytest.fixture
def market(db):
    state = market_state()
    with SandboxThread(build_app(state, FaultConfig())) as url:
        yield Market(state, url)


def offer_token(market, slug, country="US"):
    available = market.offer(slug, country)
    return available, offers.offer_token(market.accounts[slug], available)


def confirm(client, token, key, label="", **headers):
    return client.post(
        reverse("numbers:buy"),
        {"offer": token, "idempotency_key": str(key), "label": label},
        **headers,
    )
