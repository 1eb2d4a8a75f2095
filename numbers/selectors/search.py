"""Searching numbers to buy across every account that sells them (DESIGN.md "Purchase")."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from numbers.models import PhoneNumber
from numbers.selectors.offers import offer_token
from portal.models import ProviderAccount
from portal.providers.base import (
    AvailableNumber,
    SearchQuery,
    offer_matches,
)
from portal.providers.capabilities import Capability
from portal.providers.errors import (
    RegionNotAllowed,
)
from portal.providers.fanout import Answer, ask_accounts
from portal.providers.phone import country_name, format_international

# ---------------------------------------------------------------------------------------
# Searching
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """A number for sale on one of the portal's accounts, and the signed token that lets
    the buy dialog trust what the search saw."""

    account: ProviderAccount
    available: AvailableNumber

    @property
    def token(self) -> str:
        return offer_token(self.account, self.available)

    @property
    def display_number(self) -> str:
        return format_international(self.available.number)

    @property
    def description(self) -> str:
        """ "Local · New York, NY · US": what the provider said of the number, each thing
        once (a region of "Toll-free, US" adds nothing to "Toll-free" and "US")."""
        number_type = self.available.number_type
        kind = PhoneNumber.Type(number_type).label if number_type in PhoneNumber.Type else ""
        if number_type == PhoneNumber.Type.UNKNOWN:
            kind = ""
        country = self.available.country
        said = {text.casefold() for text in (kind, country, country_name(country)) if text}
        region = ", ".join(
            part
            for part in (part.strip() for part in self.available.region.split(","))
            if part and part.casefold() not in said
        )
        return " · ".join(part for part in (kind, region, country) if part)

    @property
    def capabilities(self) -> list[str]:
        return sorted(self.available.capabilities)


@dataclass(frozen=True)
class SearchResults:
    offers: list[Offer]
    failures: list[Answer]  # accounts whose search failed or timed out, with the reason
    searched: list[ProviderAccount]

    def offers_per_account(self) -> list[tuple[ProviderAccount, int]]:
        """How many offers each account that answered made (0 included)."""
        failed = {answer.account.pk for answer in self.failures}
        counts = {account.pk: 0 for account in self.searched if account.pk not in failed}
        for offer in self.offers:
            counts[offer.account.pk] += 1
        return [(account, counts[account.pk]) for account in self.searched if account.pk in counts]


SORTS = {
    "monthly": ("monthly_fee", False),
    "-monthly": ("monthly_fee", True),
    "setup": ("setup_fee", False),
    "-setup": ("setup_fee", True),
}


def searchable_accounts() -> list[ProviderAccount]:
    """Active accounts whose provider's adapter can search for numbers to buy."""
    return [
        account
        for account in ProviderAccount.objects.filter(is_active=True).select_related("provider")
        if account.provider.supports(Capability.SEARCH_NUMBERS)
    ]


def search_numbers(query: SearchQuery, sort: str = "monthly") -> SearchResults:
    """Search every searchable account at once; offers of all of them, sorted (see
    `sort_offers`), and the accounts that failed with their errors."""
    accounts = searchable_accounts()
    answers = ask_accounts(accounts, lambda adapter: _search(adapter, query))
    # Every offer is held to the whole query here, whatever its upstream could filter:
    # none shown may contradict the search (a local number under "Toll-free").
    offers = [
        Offer(answer.account, available)
        for answer in answers
        if answer.ok
        for available in answer.value
        if offer_matches(query, available)
    ]
    return SearchResults(
        offers=sort_offers(offers, sort),
        failures=[answer for answer in answers if not answer.ok],
        searched=accounts,
    )


def _search(adapter, query: SearchQuery) -> list[AvailableNumber]:
    try:
        return adapter.search_available(query)
    except RegionNotAllowed as exc:
        # The provider's words ("Invalid request parameters") say nothing of the country.
        raise RegionNotAllowed(
            f"{adapter.name} does not sell numbers in {country_name(query.country)}.",
            provider=adapter.name,
            status=exc.status,
            code=exc.code,
        ) from exc


def sort_offers(offers: list[Offer], sort: str) -> list[Offer]:
    """By setup or monthly fee, cheapest first (or dearest with `-`). Amounts in different
    currencies are never compared: offers are grouped by currency, then ordered within it.
    A fee the provider did not quote comes last either way."""
    field, descending = SORTS.get(sort, SORTS["monthly"])

    def key(offer: Offer):
        amount = getattr(offer.available, field)
        known = amount is not None
        value = (-amount if descending else amount) if known else Decimal(0)
        return (offer.available.currency, not known, value, offer.available.number)

    return sorted(offers, key=key)
