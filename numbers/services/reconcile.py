"""Settling purchases the upstream left in doubt, from its own list of owned numbers, and
closing orders a dead request left open."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime

from django.utils import timezone

from numbers.models import NumberOrder, PhoneNumber
from numbers.services.orders import (
    ABANDONED_ORDER_AFTER,
    State,
    all_orders,
    complete_order,
    finish_order,
    in_doubt_message,
    with_quoted_values,
)
from portal.models import ProviderAccount
from portal.providers import adapter_for
from portal.providers.base import (
    AvailableNumber,
    OwnedNumber,
)
from portal.providers.capabilities import Capability
from portal.providers.errors import (
    NotFound,
    NumberUnavailable,
)
from portal.services.sync import SyncCounts

# ---------------------------------------------------------------------------------------
# Reconciling orders left unknown
# ---------------------------------------------------------------------------------------


def reconcile_order(order: NumberOrder, *, actor=None, adapter=None) -> NumberOrder:
    """Settle an `unknown` order by reading the upstream: completed if the account holds
    the number, failed if it does not. Orders in other states are returned unchanged;
    an upstream error propagates and leaves the order unknown."""
    if order.state != State.UNKNOWN:
        return order
    with nullcontext(adapter) if adapter is not None else adapter_for(order.account) as upstream:
        record = _owned_upstream(upstream, order.number)
    if record is None:
        return finish_order(
            order,
            State.FAILED,
            "not_bought",
            f"{order.account.provider.name} does not list this number on "
            f"{order.account.name}: nothing was bought.",
            actor,
        )
    # The order's own quote fills what a single-number read leaves out (fees, date).
    quoted = AvailableNumber(
        number=order.number,
        currency=order.currency,
        setup_fee=order.setup_fee,
        monthly_fee=order.monthly_fee,
    )
    record = with_quoted_values(record, quoted, order.submitted_at or timezone.now())
    return complete_order(order, record, actor, reconciled=True)


def _owned_upstream(adapter, number: str) -> OwnedNumber | None:
    if adapter.supports(Capability.GET_NUMBER):
        try:
            record = adapter.get_number(number)
        except (NotFound, NumberUnavailable):
            return None
    else:
        record = next((r for r in adapter.iter_owned_numbers() if r.number == number), None)
    if record is None or record.status == PhoneNumber.Status.RELEASED:
        return None
    return record


def reconcile_unknown_orders(
    account: ProviderAccount,
    adapter,
    *,
    now: datetime,
    progress: Callable[[SyncCounts], None] = lambda counts: None,
) -> SyncCounts:
    """A sync step (settings.SYNC_STEPS): settle the account's unknown orders. Each is
    read from the upstream itself, so a failed numbers step cannot make a bought number
    look unbought. Orders abandoned in flight are settled first (`close_abandoned_orders`)."""
    close_abandoned_orders(account, now=now)
    orders = list(all_orders().filter(account=account, state=State.UNKNOWN))
    if not orders:
        return SyncCounts(from_upstream=False)
    counts = SyncCounts()
    for order in orders:
        counts.fetched += 1
        if reconcile_order(order, adapter=adapter).state != State.UNKNOWN:
            counts.updated += 1
        progress(counts)
    return counts


def close_abandoned_orders(account: ProviderAccount, *, now: datetime) -> None:
    """Orders whose request died with its process (killed, database gone) stay open and
    would block the number for ever. Long after any answer could come: one still `pending`
    never left the portal, so it failed; one `submitted` may have been applied upstream, so
    it is unknown, to be reconciled like any other."""
    cutoff = now - ABANDONED_ORDER_AFTER
    for order in all_orders().filter(account=account, state=State.PENDING, created_at__lt=cutoff):
        message = "The portal stopped before sending this order: nothing was bought."
        finish_order(order, State.FAILED, "not_sent", message, None, from_states=(State.PENDING,))
    stale = all_orders().filter(account=account, state=State.SUBMITTED, submitted_at__lt=cutoff)
    for order in stale:
        finish_order(order, State.UNKNOWN, "in_doubt", in_doubt_message(account, None), None)
