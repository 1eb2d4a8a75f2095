"""Contract tests: each adapter against the sandbox over real HTTP on loopback.

`sandbox` is a fresh world per test (small, seeded) served by a thread on a free port;
`sandbox.adapter(slug, **account)` builds that provider's adapter for a sandbox account.
In a module of one provider (its `SLUG`), `adapter` and `account` are that provider's
adapter and the sandbox's record of its built-in account.
"""

import logging

import pytest

from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from tests.support.sandbox import Sandbox


@pytest.fixture
def sandbox_state():
    return build_state(numbers=12, transactions=30, inventory=12)


@pytest.fixture
def sandbox(sandbox_state):
    with SandboxThread(build_app(sandbox_state, FaultConfig())) as url:
        yield Sandbox(sandbox_state, url)


@pytest.fixture
def adapter(sandbox, request):
    with sandbox.adapter(request.module.SLUG) as adapter:
        yield adapter


@pytest.fixture
def account(sandbox, request):
    return sandbox.account(request.module.SLUG)


@pytest.fixture
def upstream_log(caplog):
    """Captured `portal.providers` log records (INFO and up)."""
    caplog.set_level(logging.INFO, logger="portal.providers")
    return caplog
