"""The portal's rows as the records the upstream adapters take."""

from numbers.models import PhoneNumber
from portal.providers import adapter_class
from portal.providers.base import OwnedNumber
from portal.providers.capabilities import Capability


def owned_record(phone_number: PhoneNumber) -> OwnedNumber:
    """What an adapter needs to address the number upstream: its E.164 and, where the
    provider has one, its upstream id (without it the adapter looks the number up)."""
    return OwnedNumber(
        number=phone_number.number,
        status=phone_number.status,
        currency=phone_number.currency,
        upstream_id=phone_number.upstream_id,
        label=phone_number.upstream_label,
    )


def provider_supports(provider, capability: Capability) -> bool:
    """Whether the provider's adapter declares `capability` (False for a provider the
    portal has no adapter for)."""
    try:
        return adapter_class(provider.slug).supports(capability)
    except LookupError:
        return False
