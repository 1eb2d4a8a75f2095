"""Provider adapters. Each module of this package beside the shared machinery
(`_INFRASTRUCTURE`) defines one `ProviderAdapter` subclass; importing the package registers
them all, so a new provider is one new module here."""

import importlib
import pkgutil

from portal.upstream.base import AccountConfig, ProviderAdapter
from portal.upstream.capabilities import Capability

_INFRASTRUCTURE = {
    "base",
    "bodies",
    "capabilities",
    "deadlines",
    "errors",
    "network",
    "optional",
    "paging",
    "parsing",
    "streaming",
}

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _INFRASTRUCTURE:
        importlib.import_module(f"{__name__}.{_module.name}")


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
