"""The sandbox as the contract tests use it: a world served on loopback, and an adapter for
each of its built-in accounts (`Sandbox`); `API_PATHS`, each provider's API path on it."""

from dataclasses import replace

import pytest

from portal.providers import adapter_class, errors
from portal.providers.base import AccountConfig
from portal.providers.sandbox import PROVIDERS, base_url
from portal.providers.sandbox.accounts import DEMO_ACCOUNTS

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

    def refusal(self, slug, call, **overrides) -> errors.AuthenticationFailed:
        """What `call(adapter)` raises for an adapter of an account with `overrides` (a wrong
        secret, someone else's account id): it must raise AuthenticationFailed."""
        with (
            self.adapter(slug, **overrides) as adapter,
            pytest.raises(errors.AuthenticationFailed) as refused,
        ):
            call(adapter)
        return refused.value


def malformed(adapter, call) -> errors.UnexpectedResponse:
    """What `call(adapter)` raises when the sandbox answers with malformed JSON (its
    `malformed` fault): it must raise UnexpectedResponse."""
    adapter.client.headers["X-Sandbox-Fault"] = "malformed"
    with pytest.raises(errors.UnexpectedResponse) as raised:
        call(adapter)
    return raised.value
