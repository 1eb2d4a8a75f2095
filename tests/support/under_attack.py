"""The portal's side of a hostile upstream (tests/support/hostile.py): an account pointing
at it, and what the portal holds for the account, to show nothing stored was lost."""

from billing.models import Transaction
from numbers.models import PhoneNumber
from portal.models import Provider, ProviderAccount
from tests.support.hostile import ACCOUNT_IDS, HostileUpstream


def account_at(upstream: HostileUpstream, slug: str) -> ProviderAccount:
    provider, _ = Provider.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
    return ProviderAccount.objects.create(
        provider=provider,
        name=f"{slug} under attack",
        upstream_account_id=ACCOUNT_IDS[slug],
        base_url=upstream.base_url(slug),
        api_secret="hostile-test-key",
        currency="INR" if slug == "vobiz" else "USD",
    )


def stored(account: ProviderAccount):
    """What the portal holds for the account: numbers with their status, ledger ids."""
    return (
        sorted(PhoneNumber.objects.filter(account=account).values_list("number", "status")),
        sorted(
            Transaction.objects.filter(account=account, is_estimate=False).values_list(
                "upstream_id", flat=True
            )
        ),
    )
