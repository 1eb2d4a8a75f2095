"""Buying numbers: the search across providers, the purchase state machine and the
reconciliation of purchases whose outcome the upstream left in doubt (DESIGN.md "Purchase").

An order moves pending → submitted → completed | failed | unknown. Its idempotency key is
made when the buy dialog opens, so a double click, a reload or a retry reaches the same
order and never a second upstream purchase. A write that may have reached the upstream
(no answer, a 5xx after sending) is `unknown`, never `failed`, until the upstream's own
list of owned numbers says which it was.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from numbers.models import FeeSource, NumberOrder, PhoneNumber
from numbers.services import synced_values
from portal.models import AuditEvent, ProviderAccount
from portal.providers import adapter_class, adapter_for, parsing
from portal.providers.base import (
    AvailableNumber,
    Balance,
    OwnedNumber,
    SearchQuery,
    offer_matches,
)
from portal.providers.capabilities import Capability
from portal.providers.errors import (
    AmbiguousResult,
    AuthenticationFailed,
    InsufficientFunds,
    InvalidNumber,
    NotFound,
    NumberUnavailable,
    PriceChanged,
    RateLimited,
    RegionNotAllowed,
    UnexpectedResponse,
    UpstreamError,
    UpstreamUnavailable,
)
from portal.providers.phone import country_name, format_international, normalize_e164
from portal.services import record_audit_event
from portal.sync import SyncCounts
from portal.templatetags.portal_tags import money

logger = logging.getLogger("numbers.buying")

State = NumberOrder.State


# ---------------------------------------------------------------------------------------
# Asking several accounts at once
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One account's answer to a call made on all of them: a value, or why there is none."""

    account: ProviderAccount
    value: Any = None
    error: str = ""  # safe to show staff; the page names the account beside it

    @property
    def ok(self) -> bool:
        return not self.error


def ask_accounts(
    accounts: Sequence[ProviderAccount],
    call: Callable[[Any], Any],
    *,
    timeout: float | None = None,
    workers: int | None = None,
) -> list[Answer]:
    """`call(adapter)` for every account concurrently, at most `workers` at a time, each
    given `timeout` seconds from the moment its call starts. Returns the answers in the
    accounts' order; an upstream error or a timeout is that account's answer, and the
    others still come.

    A call that runs late is left behind, not awaited: its thread ends on its own (the
    adapter's connect and read timeouts bound it) and what it returns is dropped."""
    timeout = settings.NUMBER_SEARCH_TIMEOUT if timeout is None else timeout
    workers = settings.NUMBER_SEARCH_WORKERS if workers is None else workers
    if not accounts:
        return []
    workers = max(1, min(workers, len(accounts)))
    started: dict[int, float] = {}

    def run(index: int, account: ProviderAccount):
        started[index] = time.monotonic()
        try:
            with adapter_for(account) as adapter:
                return call(adapter)
        finally:
            # Django opens a connection per thread; a pool thread's must not linger.
            connections.close_all()

    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="upstream-call")
    futures = [executor.submit(run, index, account) for index, account in enumerate(accounts)]
    # A call queued behind slow ones gets its own `timeout` once it starts, but never more
    # than the waves of calls before it could take.
    last_deadline = time.monotonic() + timeout * math.ceil(len(accounts) / workers)
    answers: dict[int, Answer] = {}
    try:
        pending = set(range(len(futures)))
        while pending:
            now = time.monotonic()
            deadlines = {
                index: min(started.get(index, math.inf) + timeout, last_deadline)
                for index in pending
            }
            for index in sorted(pending):
                if futures[index].done():
                    answers[index] = _answer(accounts[index], futures[index])
                elif now >= deadlines[index]:
                    answers[index] = Answer(
                        accounts[index], error=f"No answer within {timeout:g} seconds."
                    )
            pending -= answers.keys()
            if pending:
                wait(
                    [futures[index] for index in pending],
                    timeout=max(0.0, min(deadlines[index] for index in pending) - now),
                    return_when=FIRST_COMPLETED,
                )
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    return [answers[index] for index in range(len(accounts))]


def _answer(account: ProviderAccount, future: Future) -> Answer:
    try:
        return Answer(account, value=future.result())
    except UpstreamError as exc:
        return Answer(account, error=exc.message)
    except Exception:
        # One adapter's bug must not hide what the other providers answered.
        logger.exception("call to account %s failed unexpectedly", account.pk)
        return Answer(account, error="Unexpected error (logged for the admins).")


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
        if _supports(account, Capability.SEARCH_NUMBERS)
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


# ---------------------------------------------------------------------------------------
# Offers carried from the search to the buy dialog
# ---------------------------------------------------------------------------------------

OFFER_SALT = "numbers.buying.offer"
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
    if account is None or not _supports(account, Capability.PURCHASE):
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
    if not _supports(account, Capability.BALANCE):
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


# ---------------------------------------------------------------------------------------
# Purchasing
# ---------------------------------------------------------------------------------------


class OrderInProgress(Exception):
    """Another order (another key: someone else, or another dialog) for the same number
    on the same account is still open."""


class InvalidOfferNumber(Exception):
    """The number to buy is not in E.164 form (a forged or damaged offer): no order is
    made and nothing is sent upstream."""


# An order still open this long after it was sent lost its request (any upstream call
# times out long before): see close_abandoned_orders.
ABANDONED_ORDER_AFTER = timedelta(minutes=10)


def new_idempotency_key() -> uuid.UUID:
    return uuid.uuid4()


def purchase_number(
    *,
    account: ProviderAccount,
    available: AvailableNumber,
    idempotency_key: uuid.UUID,
    label: str = "",
    user=None,
) -> NumberOrder:
    """Buy `available` on `account` once per idempotency key and return the order.

    A key seen before returns its order as it stands (completed, failed, unknown, or still
    in flight in another request) without calling the upstream again. On success the
    number is owned at once, with `label` as the portal's label."""
    order, created = _open_order(account, available, idempotency_key, label, user)
    if not created:
        return order
    now = timezone.now()
    if not _transition(order, (State.PENDING,), state=State.SUBMITTED, submitted_at=now):
        return order
    with adapter_for(account) as adapter:
        try:
            record = adapter.purchase(available.number, label=label, quote=available)
        except UpstreamError as exc:
            return _purchase_refused(order, exc, adapter, available, user)
        except BaseException:
            # Whatever broke, the request may have reached the upstream.
            _finish(order, State.UNKNOWN, "in_doubt", _in_doubt_message(account, None), user)
            raise
    try:
        return _complete(order, _with_quoted_values(record, available, now), user)
    except BaseException:
        _finish(order, State.UNKNOWN, "in_doubt", _in_doubt_message(account, None), user)
        raise


def _open_order(account, available, idempotency_key, label, user) -> tuple[NumberOrder, bool]:
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
                requested_by=user if user is not None and user.is_authenticated else None,
            )
        return order, True
    except IntegrityError as exc:
        existing = _orders().filter(idempotency_key=idempotency_key).first()
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


def _orders():
    return NumberOrder.objects.select_related("account__provider", "phone_number", "requested_by")


def _with_quoted_values(record: OwnedNumber, available: AvailableNumber, now) -> OwnedNumber:
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


def _complete(order: NumberOrder, record: OwnedNumber, user, *, reconciled=False) -> NumberOrder:
    """Record the number as owned, like a sync would, and close the order completed."""
    account = order.account
    now = timezone.now()
    with transaction.atomic():
        values = synced_values(
            record,
            account,
            now,
            period_days=_rental_period_days(account),
            fee_source=FeeSource.PURCHASE,
        )
        row = PhoneNumber.objects.filter(provider_id=account.provider_id, number=record.number)
        phone_number = row.select_for_update().first()
        before = None
        if phone_number is None:
            phone_number = PhoneNumber(provider_id=account.provider_id, number=record.number)
        else:
            before = {"status": phone_number.status, "account": phone_number.account_id}
        for name, value in values.items():
            setattr(phone_number, name, value)
        phone_number.label = order.label
        phone_number.save()
        closed = _transition(
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
                actor=user,
                action=AuditEvent.Action.PURCHASE,
                obj=phone_number,
                before=before,
                after={**_order_facts(order), **({"reconciled": True} if reconciled else {})},
            )
    return order


def _finish(
    order: NumberOrder,
    state: str,
    code: str,
    message: str,
    user,
    *,
    from_states=(State.SUBMITTED, State.UNKNOWN),
) -> NumberOrder:
    with transaction.atomic():
        closed = _transition(
            order,
            from_states,
            state=state,
            error_code=code,
            error_message=message,
            finished_at=timezone.now() if state != State.UNKNOWN else None,
        )
        if closed:
            record_audit_event(
                actor=user, action=AuditEvent.Action.PURCHASE, obj=order, after=_order_facts(order)
            )
    return order


def _transition(order: NumberOrder, from_states, **changes) -> bool:
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


def _purchase_refused(order, exc: UpstreamError, adapter, available, user) -> NumberOrder:
    account = order.account
    if _may_have_been_applied(exc):
        return _finish(order, State.UNKNOWN, "in_doubt", _in_doubt_message(account, exc), user)
    code, message = _refusal(exc, account, adapter, available)
    return _finish(order, State.FAILED, code, message, user)


def _may_have_been_applied(exc: UpstreamError) -> bool:
    # No answer after sending, a 5xx, or a success answer that could not be read. An
    # UpstreamUnavailable without a status is a connection that failed before sending.
    if isinstance(exc, AmbiguousResult | UnexpectedResponse):
        return True
    return isinstance(exc, UpstreamUnavailable) and exc.status is not None


def _in_doubt_message(account: ProviderAccount, exc: UpstreamError | None) -> str:
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
    needed = money(first_charge(available), available.currency)
    try:
        balance = adapter.get_balance() if adapter.supports(Capability.BALANCE) else None
    except UpstreamError:
        balance = None
    if balance is None:
        return f"Not enough credit on {account.name}: needed {needed}."
    return (
        f"Not enough credit on {account.name}: balance "
        f"{money(balance.amount, balance.currency)}, needed {needed}."
    )


# ---------------------------------------------------------------------------------------
# Reconciling orders left unknown
# ---------------------------------------------------------------------------------------


def reconcile_order(order: NumberOrder, *, user=None, adapter=None) -> NumberOrder:
    """Settle an `unknown` order by reading the upstream: completed if the account holds
    the number, failed if it does not. Orders in other states are returned unchanged;
    an upstream error propagates and leaves the order unknown."""
    if order.state != State.UNKNOWN:
        return order
    with nullcontext(adapter) if adapter is not None else adapter_for(order.account) as upstream:
        record = _owned_upstream(upstream, order.number)
    if record is None:
        return _finish(
            order,
            State.FAILED,
            "not_bought",
            f"{order.account.provider.name} does not list this number on "
            f"{order.account.name}: nothing was bought.",
            user,
        )
    # The order's own quote fills what a single-number read leaves out (fees, date).
    quoted = AvailableNumber(
        number=order.number,
        currency=order.currency,
        setup_fee=order.setup_fee,
        monthly_fee=order.monthly_fee,
    )
    record = _with_quoted_values(record, quoted, order.submitted_at or timezone.now())
    return _complete(order, record, user, reconciled=True)


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
    orders = list(_orders().filter(account=account, state=State.UNKNOWN))
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
    for order in _orders().filter(account=account, state=State.PENDING, created_at__lt=cutoff):
        message = "The portal stopped before sending this order: nothing was bought."
        _finish(order, State.FAILED, "not_sent", message, None, from_states=(State.PENDING,))
    stale = _orders().filter(account=account, state=State.SUBMITTED, submitted_at__lt=cutoff)
    for order in stale:
        _finish(order, State.UNKNOWN, "in_doubt", _in_doubt_message(account, None), None)


def _rental_period_days(account: ProviderAccount) -> int | None:
    try:
        return adapter_class(account.provider.slug).rental_period_days
    except LookupError:
        return None


def _supports(account: ProviderAccount, capability: Capability) -> bool:
    try:
        return adapter_class(account.provider.slug).supports(capability)
    except LookupError:
        return False
