"""Setting an account's low-balance threshold, the level under which the portal warns, and
its monthly budget, the spend above which it alerts (alerts' spend-above-budget rule)."""

from decimal import Decimal

from portal.models import ProviderAccount
from portal.money import MONEY_PLACES
from portal.services.accounts import record_field_change

QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)


def _set_amount(account: ProviderAccount, field: str, amount: Decimal | None, *, actor) -> bool:
    """Give the account's money `field` `amount` (None: unset) and audit the change.
    Returns whether anything changed: saving the same value again writes nothing."""
    if amount is not None:
        amount = amount.quantize(QUANTUM)
    before = getattr(account, field)
    if before == amount:
        return False
    setattr(account, field, amount)
    account.save(update_fields=[field, "updated_at"])
    record_field_change(account, field, before, amount, actor=actor)
    return True


def set_low_balance_threshold(
    account: ProviderAccount, threshold: Decimal | None, *, actor
) -> bool:
    """Give the account `threshold` (in its currency; None: no warning)."""
    return _set_amount(account, "low_balance_threshold", threshold, actor=actor)


def set_monthly_budget(account: ProviderAccount, budget: Decimal | None, *, actor) -> bool:
    """Give the account `budget` for its spend per calendar month (in its currency; None: no
    budget, so no spend alert)."""
    return _set_amount(account, "monthly_budget", budget, actor=actor)
