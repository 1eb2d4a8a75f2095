"""Buying a number (DESIGN.md "Purchase").

The order's idempotency key is made when the buy dialog opens, so a double click, a reload
or a retry reaches the same order and never a second upstream purchase."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from numbers.models import NumberOrder, PhoneNumber
from numbers.selectors.offers import first_charge
from numbers.services.orders import (
    State,
    all_orders,
    complete_order,
    finish_order,
    in_doubt_message,
    may_have_been_applied,
    transition,
    with_quoted_values,
)
from portal.models import ProviderAccount
from portal.money import format_money
from portal.providers import adapter_for
from portal.providers.base import (
    AvailableNumber,
)
from portal.providers.capabilities import Capability
from portal.providers.errors import (
    AuthenticationFailed,
    InsufficientFunds,
    InvalidNumber,
    NumberUnavailable,
    PriceChanged,
    RateLimited,
    RegionNotAllowed,
    UpstreamError,
    UpstreamUnavailable,
)
from portal.providers.phone import format_international, normalize_e164

# ---------------------------------------------------------------------------------------
# Purchasing
# ---------------------------------------------------------------------------------------


class OrderInProgress(Exception):
    """Another order (another key: someone else, or another dialog) for the same number
    on the same account is still open."""


class InvalidOfferNumber(Exception):
    """The number to buy is not in E.164 form (a forged or damaged offer): no order is
    made and nothing is sent upstream."""


def new_idempotency_key() -> uuid.UUID:
    return uuid.uuid4()


def purchase_number(
    *,
    account: ProviderAccount,
    available: AvailableNumber,
    idempotency_key: uuid.UUID,
    label: str = "",
    actor=None,
) -> NumberOrder:
    """Buy `available` on `account` once per idempotency key and return the order.

    A key seen before returns its order as it stands (completed, failed, unknown, or still
    in flight in another request) without calling the upstream again. On success the
    number is owned at once, with `label` as the portal's label."""
    order, created = _open_order(account, available, idempotency_key, label, actor)
    if not created:
        return order
    now = timezone.now()
    if not transition(order, (State.PENDING,), state=State.SUBMITTED, submitted_at=now):
        return order
    with adapter_for(account) as adapter:
        try:
            record = adapter.purchase(available.number, label=label, quote=available)
        except UpstreamError as exc:
            return _purchase_refused(order, exc, adapter, available, actor)
        except BaseException:
            # Whatever broke, the request may have reached the upstream.
            finish_order(order, State.UNKNOWN, "in_doubt", in_doubt_message(account, None), actor)
            raise
    try:
        return complete_order(order, with_quoted_values(record, available, now), actor)
    except BaseException:
        finish_order(order, State.UNKNOWN, "in_doubt", in_doubt_message(account, None), actor)
        raise


def _open_order(account, available, idempotency_key, label, actor) -> tuple[NumberOrder, bool]:
    """The order of this key, and whether this call created it (and so may submit it)."""
    if not _is_e164(available.number):
        # Said before the database's own check could refuse it as some IntegrityError.
        raise InvalidOfferNumber(f"{available.number} is not a valid E.164 number.")
    try:
        with transaction.atomic():
            order = NumberOrder.objects.create(
                idempotency_key=idempotency_key,
                account=account,
                number=available.number,
                label=label,
                setup_fee=available.setup_fee,
                monthly_fee=available.monthly_fee,
                currency=available.currency,
                requested_by=actor if actor is not None and actor.is_authenticated else None,
            )
        return order, True
    except IntegrityError as exc:
        existing = all_orders().filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
        if not _is_open_order_conflict(exc):
            raise  # another constraint: a bug to surface, not someone else's order
        raise OrderInProgress(
            f"An order for {format_international(available.number)} on {account.name} "
            "is already in progress."
        ) from exc


def _is_e164(number: str) -> bool:
    """Whether `number` is already the E.164 form the order table holds."""
    try:
        return normalize_e164(number) == number
    except ValidationError:
        return False


OPEN_ORDER_CONSTRAINT = "order_one_open_per_number"


def _is_open_order_conflict(exc: IntegrityError) -> bool:
    """Whether `exc` is the open-order unique constraint. PostgreSQL names the constraint;
    SQLite names only the columns of its unique index."""
    constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    if constraint is not None:
        return constraint == OPEN_ORDER_CONSTRAINT
    table = NumberOrder._meta.db_table
    return f"UNIQUE constraint failed: {table}.account_id, {table}.number" in str(exc)


def _purchase_refused(order, exc: UpstreamError, adapter, available, actor) -> NumberOrder:
    account = order.account
    if may_have_been_applied(exc):
        return finish_order(order, State.UNKNOWN, "in_doubt", in_doubt_message(account, exc), actor)
    code, message = _refusal(exc, account, adapter, available)
    return finish_order(order, State.FAILED, code, message, actor)


def _refusal(exc: UpstreamError, account, adapter, available) -> tuple[str, str]:
    """The error code and message a refused purchase shows at the number."""
    provider, number = account.provider.name, format_international(available.number)
    if isinstance(exc, NumberUnavailable):
        if PhoneNumber.objects.filter(
            account=account, number=available.number, status=PhoneNumber.Status.ACTIVE
        ).exists():
            return "owned", f"{number} is already yours on {account.name}."
        return "taken", "This number was just taken: choose another one."
    if isinstance(exc, InsufficientFunds):
        return "no_credit", _no_credit_message(account, adapter, available)
    if isinstance(exc, RegionNotAllowed):
        country = available.country or "this country"
        return "region", f"Numbers in {country} are not enabled on {account.name}."
    if isinstance(exc, InvalidNumber):
        return "invalid_number", f"{provider} says {number} is not a valid number."
    if isinstance(exc, PriceChanged):
        return "price_changed", "The price changed since the search: search again to see it."
    if isinstance(exc, UpstreamUnavailable):
        return "provider_down", f"{provider} could not be reached: nothing was bought."
    if isinstance(exc, AuthenticationFailed):
        return "credentials", (
            f"{provider} refused the credentials of {account.name}: nothing was bought. "
            "An admin needs to update them."
        )
    if isinstance(exc, RateLimited):
        return "busy", f"{provider} is busy: nothing was bought. Try again in a minute."
    return "refused", f"{provider} refused the purchase: {exc.message}"


def _no_credit_message(account, adapter, available) -> str:
    needed = format_money(first_charge(available), available.currency)
    try:
        balance = adapter.get_balance() if adapter.supports(Capability.BALANCE) else None
    except UpstreamError:
        balance = None
    if balance is None:
        return f"Not enough credit on {account.name}: needed {needed}."
    return (
        f"Not enough credit on {account.name}: balance "
        f"{format_money(balance.amount, balance.currency)}, needed {needed}."
    )
