"""The provider layer: everything that speaks the provider APIs, and nothing that knows the
portal's models. Beside the shared machinery (base, bodies, parsing, paging, ...), each
provider has a folder (`audian/`, `ravan/`, ...) holding its adapter (`adapter.py`: one
`ProviderAdapter` subclass) and its simulator (`simulator.py`), both citing the same
provider document; `sandbox/` serves the simulators. Importing this package registers
every folder's adapter, so a new provider is one new folder."""

import importlib
import pkgutil

from portal.providers.base import AccountConfig, ProviderAdapter
from portal.providers.capabilities import Capability

SIMULATOR_SHELL = "sandbox"

for _module in pkgutil.iter_modules(__path__):
    if _module.ispkg and _module.name != SIMULATOR_SHELL:
        importlib.import_module(f"{__name__}.{_module.name}.adapter")


def adapter_class(slug: str) -> type[ProviderAdapter]:
    try:
        return ProviderAdapter.registry[slug]
    except KeyError:
        raise LookupError(f"no adapter for provider {slug!r}") from None


def adapter_for(account, *, transport=None) -> ProviderAdapter:
    """The adapter for a ProviderAccount, with its decrypted secret."""
    config = AccountConfig(
        base_url=account.base_url,
        upstream_account_id=account.upstream_account_id,
        secret=account.api_secret or "",
        currency=account.currency,
    )
    return adapter_class(account.provider.slug)(config, transport=transport)


def capability_table() -> str:
    """The operation-by-provider table for the README, from what the adapters declare."""
    adapters = sorted(ProviderAdapter.registry.values(), key=lambda cls: cls.name)
    header = "| operation | " + " | ".join(cls.name for cls in adapters) + " |"
    rule = "|---" * (len(adapters) + 1) + "|"
    rows = [
        f"| {capability.label} | "
        + " | ".join(
            "supported" if cls.supports(capability) else "not offered upstream" for cls in adapters
        )
        + " |"
        for capability in Capability
    ]
    return "\n".join([header, rule, *rows])
