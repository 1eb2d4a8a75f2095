"""Setting an account's low-balance threshold, the level under which the portal warns."""

from decimal import Decimal

from portal.models import ProviderAccount
from portal.money import MONEY_PLACES
from portal.services.accounts import record_field_change

QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)


def set_low_balance_threshold(
    account: ProviderAccount, threshold: Decimal | None, *, actor
) -> bool:
    """Give the account `threshold` (in its currency; None: no warning) and audit the
    change. Returns whether anything changed: saving the same value again writes nothing."""
    if threshold is not None:
        threshold = threshold.quantize(QUANTUM)
    before = account.low_balance_threshold
    if before == threshold:
        return False
    account.low_balance_threshold = threshold
    account.save(update_fields=["low_balance_threshold", "updated_at"])
    record_field_change(account, "low_balance_threshold", before, threshold, actor=actor)
    return True
