"""An offer from the search results, carried to the buy dialog in a signed token, and what
buying it would cost (the preview the dialog confirms before money is spent)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core import signing

from portal.models import ProviderAccount
from portal.providers import parsing
from portal.providers.base import (
    AvailableNumber,
    Balance,
)
from portal.providers.capabilities import Capability
from portal.providers.fanout import ask_accounts

# ---------------------------------------------------------------------------------------
# Offers carried from the search to the buy dialog
# ---------------------------------------------------------------------------------------

OFFER_SALT = "numbers.buying.offer"  # its first name, kept: tokens in flight stay valid
OFFER_MAX_AGE = 60 * 60  # seconds: an older search result is searched again, not bought


class OfferExpired(Exception):
    """The offer token is too old, damaged, or names an account that cannot buy now."""


class _ExactJSON:
    """Signing serializer that keeps Decimal amounts exact (a quote is echoed upstream)."""

    def dumps(self, obj) -> bytes:
        return parsing.dumps(obj, compact=True).encode()

    def loads(self, data: bytes):
        return parsing.loads(data)


def offer_token(account: ProviderAccount, available: AvailableNumber) -> str:
    payload = {
        "account": account.pk,
        "number": available.number,
        "currency": available.currency,
        "country": available.country,
        "region": available.region,
        "type": available.number_type,
        "capabilities": sorted(available.capabilities),
        "setup": available.setup_fee,
        "monthly": available.monthly_fee,
        "quote": dict(available.quote),
    }
    return signing.dumps(payload, salt=OFFER_SALT, serializer=_ExactJSON, compress=True)


def offer_from_token(token: str) -> tuple[ProviderAccount, AvailableNumber]:
    """The account and offer a token stands for; OfferExpired if it cannot be trusted or
    its account may no longer buy."""
    try:
        data = signing.loads(token, salt=OFFER_SALT, serializer=_ExactJSON, max_age=OFFER_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise OfferExpired("This search result is more than an hour old.") from exc
    except signing.BadSignature as exc:
        raise OfferExpired("This buy link is incomplete or was changed.") from exc
    account = (
        ProviderAccount.objects.select_related("provider")
        .filter(pk=data["account"], is_active=True)
        .first()
    )
    if account is None or not account.provider.supports(Capability.PURCHASE):
        raise OfferExpired("The account of this offer can no longer buy numbers.")
    available = AvailableNumber(
        number=data["number"],
        currency=data["currency"],
        country=data["country"],
        region=data["region"],
        number_type=data["type"],
        capabilities=frozenset(data["capabilities"]),
        setup_fee=_amount(data["setup"]),
        monthly_fee=_amount(data["monthly"]),
        quote=data["quote"],
    )
    return account, available


def _amount(value) -> Decimal | None:
    return None if value is None else parsing.to_money(value)


def first_charge(available: AvailableNumber) -> Decimal:
    """What buying costs at once: the setup fee and the first month."""
    return (available.setup_fee or Decimal(0)) + (available.monthly_fee or Decimal(0))


@dataclass(frozen=True)
class BuyPreview:
    """What the confirmation shows: the account's balance before and after the purchase,
    where the provider tells it (`balance_error` says why not)."""

    charge: Decimal
    balance: Balance | None
    balance_error: str = ""

    @property
    def balance_after(self) -> Decimal | None:
        if self.balance is None:
            return None
        return self.balance.amount - self.charge


def preview_purchase(account: ProviderAccount, available: AvailableNumber) -> BuyPreview:
    charge = first_charge(available)
    if not account.provider.supports(Capability.BALANCE):
        return BuyPreview(charge, None, f"{account.provider.name} does not report a balance.")
    (answer,) = ask_accounts([account], lambda adapter: adapter.get_balance())
    if not answer.ok:
        return BuyPreview(charge, None, answer.error)
    if answer.value.currency != available.currency:
        # Amounts in two currencies are never subtracted from one another.
        return BuyPreview(
            charge,
            None,
            f"The balance is in {answer.value.currency}, the price in {available.currency}.",
        )
    return BuyPreview(charge, answer.value)
