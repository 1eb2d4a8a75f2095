"""The one interface every provider adapter implements: records, capabilities and errors.

An adapter speaks one provider's HTTP API and returns the records below, whatever shape the
provider uses. Money is always `Decimal` with an ISO currency code; JSON is parsed with
`parse_float=Decimal`, so no amount ever passes through a float. Upstream failures become the
errors below, decided by one table per adapter (`error_table`), never by scattered `if`s.
"""

from __future__ import annotations

import abc
import html
import logging
import random
import re
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import islice
from typing import Any, ClassVar

import httpx
import stamina
from django.conf import settings

from portal.providers import bodies, parsing
from portal.providers.capabilities import Capability
from portal.providers.deadlines import LISTING, REQUEST, Deadline, reads_until
from portal.providers.errors import (
    AddressNotAllowed,
    AmbiguousResult,
    AuthenticationFailed,
    ConnectionRefused,
    InvalidRequest,
    NotFound,
    NotSupported,
    RateLimited,
    UnexpectedResponse,
    UpstreamError,
    UpstreamUnavailable,
)
from portal.providers.network import GuardedTransport
from portal.providers.phone import national_number_of
from portal.providers.streaming import ListStream

logger = logging.getLogger("portal.providers")

USER_AGENT = f"number-portal/1.0 httpx/{httpx.__version__}"
# The longest a connection may take, and the longest silence while reading; the request's
# deadline (settings.UPSTREAM_REQUEST_DEADLINE, retries included) bounds the whole.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
# An error answer is read this far at most: its message is near its start.
ERROR_BODY_BYTES = 64 * 1024
# How much of an undocumented error answer's message is shown.
UNDOCUMENTED_EXCERPT_LENGTH = 160


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------

NUMBER_STATUSES = ("active", "pending", "suspended", "released")
NUMBER_TYPES = ("local", "mobile", "toll_free", "national", "unknown")
NUMBER_CAPABILITIES = ("voice", "sms", "mms", "fax")
TRANSACTION_KINDS = ("debit", "credit", "recurring", "usage")


@dataclass(frozen=True, slots=True)
class OwnedNumber:
    """A number the account holds upstream, in the portal's vocabulary."""

    number: str  # E.164
    status: str  # one of NUMBER_STATUSES
    currency: str
    upstream_id: str = ""  # "" where the provider has no id (TryVox, Audian Kazoo style)
    label: str = ""  # the provider's label ("friendly name"), "" where it has none
    country: str = ""
    region: str = ""
    number_type: str = "unknown"
    capabilities: frozenset[str] = frozenset()
    setup_fee: Decimal | None = None
    monthly_fee: Decimal | None = None
    purchased_at: datetime | None = None
    released_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AvailableNumber:
    """A number offered for sale, with its price as quoted now."""

    number: str
    currency: str
    country: str = ""
    region: str = ""
    number_type: str = "unknown"
    capabilities: frozenset[str] = frozenset()
    setup_fee: Decimal | None = None
    monthly_fee: Decimal | None = None
    # Provider-specific quote details a purchase must echo back (Ravan's per-minute prices).
    quote: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    country: str = "US"
    area: str = ""  # region or area code
    contains: str = ""  # digits the number must contain
    number_type: str = ""
    capabilities: frozenset[str] = frozenset()
    limit: int = 20


def offer_matches(query: SearchQuery, offer: AvailableNumber) -> bool:
    """Whether `offer` is what `query` asks for, judged from what the offer itself says:
    its type, capabilities, area code and digits. An upstream applies what filters it has;
    this is how the rest is applied, so that no offer shown contradicts the search. A type
    or capability the offer does not state ("unknown", none listed) does not match.

    A region given by name is left to the upstream: names and codes ("CA", "California",
    "San Francisco, CA") cannot be compared reliably, and every upstream filters by region."""
    area = query.area.strip()
    return (
        (not query.number_type or offer.number_type == query.number_type)
        and query.capabilities <= offer.capabilities
        and (not area.isdigit() or national_number_of(offer.number).startswith(area))
        and query.contains in offer.number
    )


def first_matching(query: SearchQuery, offers: Iterable[AvailableNumber]) -> list[AvailableNumber]:
    """The first `query.limit` of `offers` that match `query` (offer_matches). `offers` is
    read no further than that, so a paged inventory stops asking once enough have come."""
    if query.limit < 1:
        return []
    return list(islice((offer for offer in offers if offer_matches(query, offer)), query.limit))


@dataclass(frozen=True, slots=True)
class Balance:
    amount: Decimal
    currency: str
    credit_limit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class UpstreamTransaction:
    """A billing record. `upstream_id` is the provider's id, or a stable hash of the fields
    (see `parsing.stable_id`) where the provider gives none. `amount` is a magnitude; the
    direction is in `kind`."""

    upstream_id: str
    kind: str  # one of TRANSACTION_KINDS
    amount: Decimal
    currency: str
    occurred_at: datetime
    description: str = ""
    number: str = ""  # E.164 the provider names, or ""
    reference: str = ""


CALL_DIRECTIONS = ("inbound", "outbound", "")


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """A call record. The adapter says who called whom; which of the two is the account's
    own number is the sync's to tell (it knows the numbers held). `cost` is what the
    account is billed for the call, exactly as published; None while the provider has not
    priced it yet (an Audian CDR whose ledger entry has not appeared, a TryVox call whose
    detail was not read), to be priced by `ProviderAdapter.price_calls` later. `parts` keeps
    the published parts of the cost (decimal strings) as they are: they need not add up."""

    upstream_id: str
    started_at: datetime
    from_number: str  # E.164 where it is a phone number, else as published ("" for none)
    to_number: str
    direction: str = ""  # one of CALL_DIRECTIONS; "" where the record does not say
    status: str = ""
    duration_seconds: int = 0
    billed_seconds: int | None = None
    cost: Decimal | None = None
    currency: str = ""
    parts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallPrice:
    """A price found later for a call listed unpriced (see `ProviderAdapter.price_calls`)."""

    cost: Decimal
    currency: str
    billed_seconds: int | None = None
    parts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServicePlan:
    upstream_id: str
    name: str
    description: str = ""
    rates: Mapping[str, Any] = field(default_factory=dict)  # amounts as decimal strings


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """What an adapter needs to reach one account; built from a ProviderAccount."""

    base_url: str
    upstream_account_id: str
    secret: str
    currency: str = "USD"

    def __repr__(self):  # never show the secret, not even in a traceback
        return f"AccountConfig(base_url={self.base_url!r}, account={self.upstream_account_id!r})"


# A table row: (HTTP status or None for any, upstream error code or None for any) → error.
ErrorTable = Mapping[tuple[int | None, str | None], type[UpstreamError]]

# Statuses every adapter maps the same way unless its own table says otherwise.
COMMON_ERRORS: ErrorTable = {
    (401, None): AuthenticationFailed,
    (403, None): AuthenticationFailed,
    (404, None): NotFound,
    (429, None): RateLimited,
    (400, None): InvalidRequest,
    (422, None): InvalidRequest,
    # An endpoint the upstream does not offer: asking again will not change that.
    (405, None): InvalidRequest,
    (501, None): InvalidRequest,
}


def retry_backoff(deadline: Deadline) -> Callable[[Exception], bool | float]:
    """stamina's backoff hook for one request: retry what is retryable, waiting what
    Retry-After asks or backing off exponentially with jitter (settings.UPSTREAM_RETRY),
    but never into the deadline: a wait that would pass it gives up with the error now."""
    config = settings.UPSTREAM_RETRY
    retries = 0

    def backoff(exc: Exception) -> bool | float:
        nonlocal retries
        if not (isinstance(exc, UpstreamError) and exc.retryable):
            return False
        retries += 1
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            wait = exc.retry_after
        else:
            wait = min(
                config.get("wait_max", 5.0), config.get("wait_initial", 0.1) * 2 ** (retries - 1)
            ) + random.uniform(0, config.get("wait_jitter", 0.0))  # noqa: S311 (not a secret)
        return wait if wait < deadline.remaining() else False

    return backoff


def retry_settings(deadline: Deadline) -> dict[str, Any]:
    """stamina's limits for one request: settings.UPSTREAM_RETRY's attempts and waits,
    within what is left of the request's deadline."""
    return {**settings.UPSTREAM_RETRY, "timeout": max(deadline.remaining(), 0.001)}


# ---------------------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------------------


def _json_body(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    # httpx's own encoder refuses Decimal, and going through float could change the amount
    # a provider is asked to charge: `parsing.dumps` writes the exact number instead.
    body = parsing.dumps(value, compact=True).encode("utf-8")
    return {"content": body, "headers": {"Content-Type": "application/json"}}


# ---------------------------------------------------------------------------------------
# The adapter
# ---------------------------------------------------------------------------------------

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ProviderAdapter(abc.ABC):
    """Base class of the adapters. Subclasses set `slug`, `name`, `capabilities`,
    `error_table`, implement `auth_headers`, `error_code` and the methods of the
    capabilities they declare; the rest raise NotSupported."""

    slug: ClassVar[str]
    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    error_table: ClassVar[ErrorTable] = {}
    # Whether an upstream label written with update_label is read back by list_numbers.
    labels_sync_upstream: ClassVar[bool] = False
    # How often a number's rental renews, in days; None: monthly on the purchase day.
    # Used to estimate rentals for providers without a billing API.
    rental_period_days: ClassVar[int | None] = None
    # Where a renewal that could not be paid loses the number for good: how long after the
    # renewal date that happens (Ravan: 48 hours). None: no such deadline is published.
    renewal_grace_hours: ClassVar[int | None] = None
    # Fields the owned-number listing states less surely than what the portal learned at
    # purchase or from a detail call: a sync fills them only where the portal holds none.
    listing_fills_only: ClassVar[frozenset[str]] = frozenset()

    registry: ClassVar[dict[str, type[ProviderAdapter]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "slug" in cls.__dict__:
            ProviderAdapter.registry[cls.slug] = cls

    def __init__(self, account: AccountConfig, *, transport: httpx.BaseTransport | None = None):
        self.account = account
        # Set by a sync (portal.services.sync): every request ends by the run's deadline too.
        self.run_deadline: Deadline | None = None
        self.client = httpx.Client(
            base_url=account.base_url.rstrip("/"),
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                # What portal.providers.bodies decompresses within its limit.
                "Accept-Encoding": bodies.ACCEPT_ENCODING,
                **self.auth_headers(),
            },
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            # Connects only where the account's base URL may lead (portal.providers.network).
            transport=transport or GuardedTransport(),
            follow_redirects=False,  # a redirect could lead inside the network
        )

    def close(self):
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @classmethod
    def supports(cls, capability: Capability) -> bool:
        return capability in cls.capabilities

    # --- to implement per provider ------------------------------------------------------

    @abc.abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """The headers that authenticate every request of this account."""

    def error_code(self, body: Any) -> str:
        """The provider's error code in an error body ("" when it has none)."""
        return ""

    def error_message(self, body: Any) -> str:
        """The provider's human message in an error body ("" when it has none)."""
        return ""

    def iter_owned_numbers(self) -> Iterator[OwnedNumber]:
        """Every owned number, page by page (never the whole list in memory)."""
        raise self._unsupported(Capability.LIST_NUMBERS)

    def get_number(self, number: str) -> OwnedNumber:
        raise self._unsupported(Capability.GET_NUMBER)

    def search_available(self, query: SearchQuery) -> list[AvailableNumber]:
        raise self._unsupported(Capability.SEARCH_NUMBERS)

    def purchase(
        self, number: str, *, label: str = "", quote: AvailableNumber | None = None
    ) -> OwnedNumber:
        raise self._unsupported(Capability.PURCHASE)

    def update_label(self, number: OwnedNumber, label: str) -> OwnedNumber:
        raise self._unsupported(Capability.UPDATE_LABEL)

    def release(self, number: OwnedNumber) -> None:
        raise self._unsupported(Capability.RELEASE)

    def get_balance(self) -> Balance:
        raise self._unsupported(Capability.BALANCE)

    def iter_transactions(self, since: datetime | None = None) -> Iterator[UpstreamTransaction]:
        """Transactions at or after `since` (all when None), oldest or newest first."""
        raise self._unsupported(Capability.TRANSACTIONS)

    def list_service_plans(self) -> list[ServicePlan]:
        raise self._unsupported(Capability.SERVICE_PLANS)

    # Whether `iter_calls` filters by time upstream. One that does not (TryVox) is read
    # newest first down to `since` in one pass; one that does is read window by window,
    # oldest first, so a long history is kept a window at a time.
    calls_filter_by_time: bool = True

    def iter_calls(self, since: datetime | None, until: datetime) -> Iterator[UpstreamCall]:
        """Call records started in [since, until) (from the oldest kept when `since` is
        None), page by page, in any order."""
        raise self._unsupported(Capability.CALL_RECORDS)

    def price_calls(self, calls: Sequence[tuple[str, datetime]]) -> dict[str, CallPrice]:
        """Prices for calls listed unpriced, given as (upstream id, started at): by id, for
        those the provider has priced by now (the others are left out, to ask again on a
        later sync). Only adapters whose listings can lack a price override this."""
        return {}

    @classmethod
    def plan_rate_keys(cls, number_type: str, country: str) -> tuple[str, ...]:
        """The keys of a service plan's rates that price a number of this type and
        country, most specific first (none for a provider without plans)."""
        return ()

    # --- shared HTTP machinery ----------------------------------------------------------

    def _unsupported(self, capability: Capability) -> NotSupported:
        return NotSupported(self.name, capability)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        allow_empty: bool = False,
    ) -> Any:
        """Send one request and return its parsed JSON body (Decimal for every non-integer
        number), or None for an allowed empty body. Raises the UpstreamError the status,
        the provider's code and `error_table` call for.

        The whole call, its retries included, ends by its deadline
        (settings.UPSTREAM_REQUEST_DEADLINE, or the sync's if sooner), and its body is read
        within settings.UPSTREAM_MAX_BODY_BYTES (portal.providers.bodies). Reads are retried
        on 429 and 5xx with exponential backoff and jitter, waiting what Retry-After asks,
        bounded in attempts (settings.UPSTREAM_RETRY) and by the deadline. Writes are never
        retried: a 5xx after sending may mean it was applied."""
        method = method.upper()
        deadline = self._request_deadline()
        if method not in _READ_METHODS:
            return self._send(method, path, params, json, allow_empty, deadline)
        for attempt in stamina.retry_context(
            on=retry_backoff(deadline), **retry_settings(deadline)
        ):
            with attempt:
                return self._send(method, path, params, json, allow_empty, deadline)
        raise AssertionError("unreachable: stamina re-raises the last error")

    def stream_list(
        self,
        path: str,
        *,
        kind: str,
        params: Mapping[str, Any] | None = None,
        key: str = "data",
        check: Callable[[Mapping[str, Any]], object] = lambda envelope: None,
    ) -> Generator[Any, None, dict[str, Any]]:
        """GET `path`, whose answer is one object holding a (possibly huge) list of `kind`
        under `key`, and yield the list's items as the body arrives, never holding it
        whole; then return the envelope (`body = yield from adapter.stream_list(...)`).
        `check` judges the envelope (see streaming.ListStream).

        Retried like `request` until the answer starts, which must come by the request's
        deadline; the body may then take as long as a sync may (the run's deadline, or
        settings.SYNC_RUN_DEADLINE outside a run) if it keeps coming (at least 64 KB in each
        request deadline: `bodies.Pace`), and be as large as the kind's
        `streamed_bytes` (settings.UPSTREAM_LIST_LIMITS). A failure after the start (a
        dropped connection, a body cut short) raises, and the caller has what came before."""
        deadline = self._request_deadline()
        for attempt in stamina.retry_context(
            on=retry_backoff(deadline), **retry_settings(deadline)
        ):
            with attempt:
                response = self._open_stream(path, params, deadline)
        body_deadline = self.run_deadline or Deadline.after(
            settings.SYNC_RUN_DEADLINE.total_seconds(), LISTING
        )
        chunks = bodies.chunks(
            response,
            limit=settings.UPSTREAM_LIST_LIMITS[kind]["streamed_bytes"],
            deadline=body_deadline,
            provider=self.name,
            pace=bodies.Pace(settings.UPSTREAM_REQUEST_DEADLINE),
        )
        listing = ListStream(chunks, key=key, provider=self.name, check=check)
        try:
            yield from listing
        except httpx.TransportError as exc:
            if body_deadline.passed():
                raise body_deadline.error(self.name) from exc
            raise UpstreamUnavailable(
                f"the answer was cut off ({type(exc).__name__})", provider=self.name
            ) from exc
        finally:
            response.close()  # also when the caller stops early
        return listing.envelope

    def _open_stream(self, path, params, deadline: Deadline) -> httpx.Response:
        """The answer to a GET with only its head read: a success is returned open; any
        other is read (its start), closed and raised as its UpstreamError."""
        response = self._exchange("GET", path, params=params, deadline=deadline)
        if response.is_success:
            return response
        try:
            content = self._read_error_body(response, deadline)
        finally:
            response.close()
        raise self._error_for(response, self._parse(response, content, allow_empty=True), content)

    def _request_deadline(self) -> Deadline:
        """When a call starting now must be done: settings.UPSTREAM_REQUEST_DEADLINE from
        now, or the run's deadline if that comes first (raised if it has passed)."""
        deadline = Deadline.after(settings.UPSTREAM_REQUEST_DEADLINE, REQUEST)
        if self.run_deadline is None or deadline.at < self.run_deadline.at:
            return deadline
        if self.run_deadline.passed():
            raise self.run_deadline.error(self.name)
        return self.run_deadline

    def _send(self, method, path, params, json, allow_empty, deadline: Deadline) -> Any:
        response = self._exchange(method, path, params=params, json=json, deadline=deadline)
        try:
            if response.is_success:
                content = self._read_body(response, deadline, method, path)
            else:
                content = self._read_error_body(response, deadline)
        finally:
            response.close()
        body = self._parse(response, content, allow_empty=allow_empty)
        if response.is_success:
            return body
        raise self._error_for(response, body, content)

    def _read_body(self, response, deadline: Deadline, method: str, path: str) -> bytes:
        """The whole body of a success, within settings.UPSTREAM_MAX_BODY_BYTES and the
        deadline. A write whose answer cannot be read may still have been applied: that
        is ambiguous, never a plain failure."""
        try:
            return bodies.read(
                response,
                limit=settings.UPSTREAM_MAX_BODY_BYTES,
                deadline=deadline,
                provider=self.name,
            )
        except (httpx.TransportError, UpstreamError) as exc:
            if isinstance(exc, UpstreamError):
                error = exc  # too large, past the deadline, not decompressible
            elif deadline.passed():
                error = deadline.error(self.name)
            else:
                error = UpstreamUnavailable(
                    f"the answer was cut off ({type(exc).__name__})", provider=self.name
                )
            if method not in _READ_METHODS:
                raise AmbiguousResult(
                    f"the answer to {method} {path} could not be read ({error}); "
                    "it may have been applied upstream",
                    provider=self.name,
                ) from exc
            if error is exc:
                raise
            raise error from exc

    def _read_error_body(self, response, deadline: Deadline) -> bytes:
        """The start of an error answer (its message is there), b"" if it cannot be read:
        the status still tells what happened."""
        pieces, size = [], 0
        try:
            for piece in bodies.chunks(
                response,
                limit=max(settings.UPSTREAM_MAX_BODY_BYTES, 2 * ERROR_BODY_BYTES),
                deadline=deadline,
                provider=self.name,
            ):
                pieces.append(piece)
                size += len(piece)
                if size >= ERROR_BODY_BYTES:
                    break
        except (httpx.TransportError, UpstreamError):
            return b""
        return b"".join(pieces)

    def _exchange(self, method, path, *, params=None, json=None, deadline: Deadline):
        """Send the request and return the answer with its head read; its body is the
        caller's to read, then close. Transport failures become UpstreamErrors: a write
        that may have arrived is ambiguous."""
        started = time.monotonic()
        remaining = deadline.remaining()
        if remaining <= 0:
            raise deadline.error(self.name)
        timeout = httpx.Timeout(
            min(READ_TIMEOUT, remaining), connect=min(CONNECT_TIMEOUT, remaining)
        )
        request = self.client.build_request(
            method, path, params=params, timeout=timeout, **_json_body(json)
        )
        try:
            with reads_until(deadline):
                response = self.client.send(request, stream=True)
        except AddressNotAllowed as exc:
            self._log(method, path, "address-not-allowed", started)
            exc.provider = self.name
            raise
        except httpx.ConnectError as exc:
            self._log(method, path, "connect-failed", started)
            if _refused(exc):
                raise ConnectionRefused(
                    f"{self.name} could not be reached (connection refused)", provider=self.name
                ) from exc
            raise UpstreamUnavailable(
                f"could not connect ({type(exc).__name__})", provider=self.name
            ) from exc
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            self._log(method, path, "connect-failed", started)
            if deadline.passed():  # nothing was sent: not ambiguous, even for a write
                raise deadline.error(self.name) from exc
            raise UpstreamUnavailable(
                f"could not connect ({type(exc).__name__})", provider=self.name
            ) from exc
        except httpx.TransportError as exc:
            self._log(method, path, "no-response", started)
            if method in _READ_METHODS:
                if deadline.passed():
                    raise deadline.error(self.name) from exc
                raise UpstreamUnavailable(
                    f"no response ({type(exc).__name__})", provider=self.name
                ) from exc
            raise AmbiguousResult(
                f"no response after sending {method} {path} ({type(exc).__name__}); "
                "it may have been applied upstream",
                provider=self.name,
            ) from exc
        self._log(method, path, response.status_code, started, response)
        return response

    def _parse(self, response: httpx.Response, content: bytes, *, allow_empty: bool) -> Any:
        if not content.strip():
            if allow_empty or not response.is_success:
                return None
            raise UnexpectedResponse(
                "empty response body", provider=self.name, status=response.status_code
            )
        try:
            return parsing.loads(content)
        except ValueError as exc:
            if not response.is_success:
                return None  # an error page that is not JSON: the status still tells
            raise UnexpectedResponse(
                "response is not JSON",
                provider=self.name,
                status=response.status_code,
                excerpt=parsing.excerpt(content),
            ) from exc

    def _error_for(self, response: httpx.Response, body: Any, content: bytes) -> UpstreamError:
        status = response.status_code
        code = self.error_code(body) if body is not None else ""
        message = (self.error_message(body) if body is not None else "") or (
            self._undocumented_error(response, body, content)
        )
        error_class = (
            self.error_table.get((status, code))
            or self.error_table.get((None, code))
            or self.error_table.get((status, None))
            or COMMON_ERRORS.get((status, None))
        )
        if error_class is None:
            error_class = UpstreamUnavailable if status >= 500 else InvalidRequest
        kwargs = {"provider": self.name, "status": status, "code": code}
        if error_class is RateLimited:
            kwargs["retry_after"] = parsing.retry_after(response.headers.get("Retry-After"))
        return error_class(message, **kwargs)

    def _undocumented_error(self, response: httpx.Response, body: Any, content: bytes) -> str:
        """What an error answer outside the provider's documented envelopes says (a
        gateway's HTML page, plain text, JSON of another shape): the status in words and a
        short excerpt of the message it seems to carry, with no secret in it. A redirect
        says so: it is not followed (it could lead inside the network)."""
        status = f"{response.status_code} {response.reason_phrase}".strip()
        if response.is_redirect:
            where = parsing.excerpt(response.headers.get("Location", ""), limit=80)
            said = (
                f"a redirect to {where or 'elsewhere'}, which the portal does not follow; "
                "check the account's base URL"
            )
        else:
            said = _loose_message(body) if body is not None else _page_text(content)
            said = parsing.excerpt(said, limit=UNDOCUMENTED_EXCERPT_LENGTH) if said else ""
        if self.account.secret:
            said = said.replace(self.account.secret, "[redacted]")
        # "404 Not Found" as a page's whole text or title adds nothing to the status.
        if not said or said.casefold() in status.casefold():
            return f"{self.name} answered {status}"
        return f"{self.name} answered {status}: {said}"

    def _log(self, method, path, status, started, response: httpx.Response | None = None):
        # Path and status only: query strings and bodies may carry numbers or secrets.
        request_id = ""
        if response is not None:
            request_id = response.headers.get("X-Request-ID") or response.headers.get(
                "X-Request-Id", ""
            )
        logger.info(
            "upstream provider=%s method=%s path=%s status=%s duration_ms=%d request_id=%s",
            self.slug,
            method,
            path,
            status,
            (time.monotonic() - started) * 1000,
            request_id or "-",
        )


# Where a JSON error body of no documented shape most likely holds its message, in order.
_LOOSE_MESSAGE_KEYS = ("message", "error_description", "detail", "error", "title")
_PAGE_SOURCE_BYTES = 8192  # a page's title and first words are near its start
_PAGE_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_PAGE_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_PAGE_TAG = re.compile(r"<[^>]*>")


def _loose_message(body: Any) -> str:
    """The text an error body of an undocumented JSON shape seems to carry, or ""."""
    if isinstance(body, str):
        return body
    if not isinstance(body, Mapping):
        return ""
    for key in _LOOSE_MESSAGE_KEYS:
        value = body.get(key)
        if isinstance(value, Mapping):
            value = value.get("message")
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _page_text(content: bytes) -> str:
    """The words of an error answer that is not JSON: an HTML page's title (its text when
    the title is empty), or plain text as it is."""
    text = content[:_PAGE_SOURCE_BYTES].decode("utf-8", "replace")
    if "<" not in text:
        return text
    title = _PAGE_TITLE.search(text)
    if title and title.group(1).strip():
        text = title.group(1)
    else:
        text = _PAGE_TAG.sub(" ", _PAGE_SCRIPT.sub(" ", text))
    return html.unescape(" ".join(text.split()))


def _refused(exc: httpx.ConnectError) -> bool:
    """Whether the connection was refused (nothing listens there), rather than failing
    for another reason (a name that does not resolve, a TLS handshake)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False
