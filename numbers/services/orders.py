"""The purchase order's state machine, shared by buying and reconciling (DESIGN.md
"Purchase").

An order moves pending → submitted → completed | failed | unknown. A write that may have
reached the upstream (no answer, a 5xx after sending) is `unknown`, never `failed`, until
the upstream's own list of owned numbers says which it was."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from numbers.models import FeeSource, NumberOrder, PhoneNumber
from numbers.services.label_facts import lock_label_facts, move_labels, shown_label
from numbers.services.sync import synced_values
from portal.models import AuditEvent, ProviderAccount
from portal.providers.base import (
    AvailableNumber,
    OwnedNumber,
)
from portal.providers.errors import (
    AmbiguousResult,
    UnexpectedResponse,
    UpstreamError,
    UpstreamUnavailable,
)
from portal.services.audit import record_audit_event

logger = logging.getLogger(__name__)

State = NumberOrder.State


# An order still open this long after it was sent lost its request (any upstream call
# times out long before): see close_abandoned_orders.
ABANDONED_ORDER_AFTER = timedelta(minutes=10)


def all_orders():
    return NumberOrder.objects.select_related("account__provider", "phone_number", "requested_by")


def with_quoted_values(record: OwnedNumber, available: AvailableNumber, now) -> OwnedNumber:
    """A purchase answer may leave out what the offer quoted (fees, place): keep the
    quote's values then, so the new number is complete before the next sync."""
    return replace(
        record,
        setup_fee=record.setup_fee if record.setup_fee is not None else available.setup_fee,
        monthly_fee=(
            record.monthly_fee if record.monthly_fee is not None else available.monthly_fee
        ),
        country=record.country or available.country,
        region=record.region or available.region,
        number_type=(
            record.number_type if record.number_type != "unknown" else available.number_type
        ),
        capabilities=record.capabilities or available.capabilities,
        purchased_at=record.purchased_at or now,
    )


def complete_order(
    order: NumberOrder, record: OwnedNumber, actor, *, reconciled=False
) -> NumberOrder:
    """Record the number as owned, like a sync would, and close the order completed."""
    account = order.account
    now = timezone.now()
    with transaction.atomic():
        values = synced_values(
            record,
            account,
            now,
            period_days=account.provider.rental_period_days,
            fee_source=FeeSource.PURCHASE,
        )
        # The label facts' lock before the row's, as set_label takes them (see there).
        lock_label_facts(account.provider_id, exclusive=True)
        row = PhoneNumber.objects.filter(provider_id=account.provider_id, number=record.number)
        phone_number = row.select_for_update().first()
        before, shown_before = None, ""
        if phone_number is None:
            phone_number = PhoneNumber(provider_id=account.provider_id, number=record.number)
        else:
            before = {"status": phone_number.status, "account": phone_number.account_id}
            shown_before = shown_label(phone_number.label, phone_number.upstream_label)
        for name, value in values.items():
            setattr(phone_number, name, value)
        phone_number.label = order.label
        phone_number.save()
        # A number held before (or billed before the portal held it) keeps its months:
        # they move to the label it shows now.
        move_labels(
            account.provider_id,
            {
                phone_number.number: (
                    shown_before,
                    shown_label(phone_number.label, phone_number.upstream_label),
                )
            },
        )
        closed = transition(
            order,
            (State.SUBMITTED, State.UNKNOWN),
            state=State.COMPLETED,
            phone_number=phone_number,
            error_code="",
            error_message="",
            finished_at=now,
        )
        if closed:
            record_audit_event(
                actor=actor,
                action=AuditEvent.Action.PURCHASE,
                obj=phone_number,
                before=before,
                after={**_order_facts(order), **({"reconciled": True} if reconciled else {})},
            )
    return order


def finish_order(
    order: NumberOrder,
    state: str,
    code: str,
    message: str,
    actor,
    *,
    from_states=(State.SUBMITTED, State.UNKNOWN),
) -> NumberOrder:
    with transaction.atomic():
        closed = transition(
            order,
            from_states,
            state=state,
            error_code=code,
            error_message=message,
            finished_at=timezone.now() if state != State.UNKNOWN else None,
        )
        if closed:
            record_audit_event(
                actor=actor, action=AuditEvent.Action.PURCHASE, obj=order, after=_order_facts(order)
            )
    return order


def transition(order: NumberOrder, from_states, **changes) -> bool:
    """Apply `changes` if the order is still in one of `from_states` (in the database, not
    just in this object), so two requests finishing one order cannot both write it.
    Either way `order` ends as the database has it."""
    updated = NumberOrder.objects.filter(pk=order.pk, state__in=from_states).update(**changes)
    order.refresh_from_db()
    return bool(updated)


def _order_facts(order: NumberOrder) -> dict:
    """What an audit event says about an order, readable in the number's history."""
    facts = {
        "order": order.pk,
        "number": order.number,
        "account": str(order.account),
        "state": order.state,
        "setup_fee": order.setup_fee,
        "monthly_fee": order.monthly_fee,
        "currency": order.currency,
        "label": order.label,
    }
    if order.error_message:
        facts["error"] = order.error_message
    return facts


def may_have_been_applied(exc: UpstreamError) -> bool:
    # No answer after sending, a 5xx, or a success answer that could not be read. An
    # UpstreamUnavailable without a status is a connection that failed before sending.
    if isinstance(exc, AmbiguousResult | UnexpectedResponse):
        return True
    return isinstance(exc, UpstreamUnavailable) and exc.status is not None


def in_doubt_message(account: ProviderAccount, exc: UpstreamError | None) -> str:
    if exc is not None:
        logger.warning("purchase on account %s left in doubt: %s", account.pk, exc)
    if isinstance(exc, AmbiguousResult):
        reason = "the connection dropped after the order was sent"
    elif isinstance(exc, UnexpectedResponse):
        reason = "its answer could not be read"
    elif exc is not None and exc.status is not None:
        reason = f"it answered HTTP {exc.status} after the order was sent"
    else:
        reason = "the portal failed while the order was on its way"
    return (
        f"{account.provider.name} did not confirm the purchase: {reason}. It may have gone "
        "through; the next sync checks, or use “Check again”."
    )
