"""Contract tests: each adapter against the sandbox over real HTTP on loopback.

`sandbox` is a fresh world per test (small, seeded) served by a thread on a free port;
`adapter_for(slug, **account)` builds that provider's adapter for a sandbox account.
"""

import logging
from dataclasses import replace

import pytest

from portal.providers import adapter_class
from portal.providers.base import AccountConfig
from portal.providers.sandbox import PROVIDERS, base_url, build_app, build_state
from portal.providers.sandbox.accounts import DEMO_ACCOUNTS
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread

# Each provider's API path on a sandbox, e.g. "/audian/v2": base URL = origin + path.
API_PATHS = {slug: base_url("", slug) for slug in PROVIDERS}


class Sandbox:
    def __init__(self, state, url):
        self.state = state
        self.url = url

    def account(self, slug):
        """The sandbox's built-in account record (a dict) for a provider."""
        spec = next(a for a in DEMO_ACCOUNTS if a.provider == slug)
        return self.state.account(slug, spec.account_id)

    def config(self, slug, **overrides) -> AccountConfig:
        spec = next(a for a in DEMO_ACCOUNTS if a.provider == slug)
        config = AccountConfig(
            base_url=f"{self.url}{API_PATHS[slug]}",
            upstream_account_id=spec.account_id,
            secret=spec.secret,
            currency=spec.currency,
        )
        return replace(config, **overrides)

    def adapter(self, slug, **overrides):
        return adapter_class(slug)(self.config(slug, **overrides))


@pytest.fixture
def sandbox_state():
    return build_state(numbers=12, transactions=30, inventory=12)


@pytest.fixture
def sandbox(sandbox_state):
    with SandboxThread(build_app(sandbox_state, FaultConfig())) as url:
        yield Sandbox(sandbox_state, url)


@pytest.fixture
def upstream_log(caplog):
    """Captured `portal.providers` log records (INFO and up)."""
    caplog.set_level(logging.INFO, logger="portal.providers")
    return caplog
