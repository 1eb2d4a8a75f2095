"""Setting an account's low-balance threshold, the level under which the portal warns."""

from decimal import Decimal

from portal.models import AuditEvent, ProviderAccount
from portal.money import MONEY_PLACES
from portal.services.audit import record_audit_event

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
    record_audit_event(
        actor=actor,
        action=AuditEvent.Action.ACCOUNT_CHANGE,
        obj=account,
        # As the admin's account changes record it: the value as text, None when unset.
        before={"low_balance_threshold": None if before is None else str(before)},
        after={"low_balance_threshold": None if threshold is None else str(threshold)},
    )
    return True
