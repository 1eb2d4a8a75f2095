"""A number's fees: where each comes from, and what a rental comes to a month.

A fee is taken from the best source the provider has, in this order:

1. the provider's listing of owned numbers, where it states the fee (TryVox and Vobiz
   state both fees; Ravan its `price` per 28 days, never a setup fee; Audian neither);
2. the price quoted when the portal bought the number (the offer the buyer confirmed, or
   the purchase answer where it states one);
3. the account's service plan rate for the number's type (Audian; `billing.services.plan_fees`);
4. otherwise the fee is unknown: NULL, shown "—", left out of sums. Never 0.

A listing that lacks a fee leaves what the portal learned from a better-or-other source as
it was; a listing that states one replaces it. A plan rate only fills a fee nothing else
stated, and follows the plan when its rate changes.
"""

from __future__ import annotations

from decimal import Decimal

from numbers.models import FeeSource
from portal.money import MONEY_PLACES, format_money

QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)
DAYS_PER_YEAR = Decimal("365.25")
MONTHS_PER_YEAR = 12


def quantized(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else amount.quantize(QUANTUM)


def monthly_equivalent(amount: Decimal | None, period_days: int | None) -> Decimal | None:
    """A rental of `amount` every `period_days` days as a monthly figure (times 365.25 / 12 /
    days: Ravan's 28-day price is about 1.087 of it a month); a monthly rental (None) as
    it is."""
    if amount is None or period_days is None:
        return quantized(amount)
    return quantized(amount * DAYS_PER_YEAR / MONTHS_PER_YEAR / period_days)


def fee_values(
    *,
    setup_fee: Decimal | None,
    rental_fee: Decimal | None,
    period_days: int | None,
    source: FeeSource,
) -> dict:
    """The fee columns a source states, with the source: a fee it does not state (None) is
    left out, so whatever the row holds stays."""
    values = {}
    if setup_fee is not None:
        values["setup_fee"] = quantized(setup_fee)
        values["setup_fee_source"] = source
    if rental_fee is not None:
        values["period_fee"] = quantized(rental_fee)
        values["rental_period_days"] = period_days
        values["monthly_fee"] = monthly_equivalent(rental_fee, period_days)
        values["monthly_fee_source"] = source
    return values


UNKNOWN_FEE = (
    "Unknown: the provider states no fee for this number, and neither a purchase quote nor "
    "a service plan gives one."
)


def period_note(number) -> str:
    """'1.15 USD per 28 days' for a rental stated per other period than a month, else ''."""
    if number.rental_period_days is None or number.period_fee is None:
        return ""
    return (
        f"{format_money(number.period_fee, number.currency)} per {number.rental_period_days} days"
    )


def fee_hint(number, fee: str) -> str:
    """Where a number's `fee` ("monthly_fee" or "setup_fee") comes from, in words."""
    if getattr(number, fee) is None:
        return UNKNOWN_FEE
    source = getattr(number, f"{fee}_source")
    hint = f"From the {FeeSource(source).label}" if source else "Source not recorded"
    note = period_note(number) if fee == "monthly_fee" else ""
    if note:
        hint += f": {note}, a month being 365.25 / 12 days"
    return f"{hint}."
