"""TryVox (reference: ../shared/providers/tryvox.md; seed 004 for purchase).

`Authorization: Bearer <key>` on `https://api.tryvox.io/v1`; numbers live under
`/account/{account_id}/numbers` and have no id: the E.164 number is the key, so
`OwnedNumber.upstream_id` stays "" (as for every provider without an id) and every path
names the number with a literal `+` (tryvox.md §2). Amounts are USD JSON numbers in dollars.

Declared and documented: list, get (used by a third-party client), purchase, release.
Declared but [INFERRED], unverified against the real service: inventory search (§2.3) and
balance (§2.7). Not offered upstream: labels (the number object has none, §2.5), transactions
(no ledger endpoint, §2.8: the portal estimates rental), service plans.

What each endpoint states of an owned number, and which wins where two do (numbers.fees,
numbers.services.synced_values: a field an answer leaves out never erases a known value).
The list (§2.1), the number GET (§2.2) and the purchase answer (seed 004) are one object:

| field | list / get / purchase | offer §2.3 | precedence |
|---|---|---|---|
| status, country, region, type, capabilities | yes | yes | listing |
| setup fee, monthly fee, currency | yes | yes | listing |
| purchased_at | `created_at` | — | listing |
| released_at | yes | — | listing |
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import quote

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError

from portal.providers import errors
from portal.providers.base import (
    NUMBER_CAPABILITIES,
    AvailableNumber,
    Balance,
    CallPrice,
    OwnedNumber,
    ProviderAdapter,
    SearchQuery,
    UpstreamCall,
    first_matching,
)
from portal.providers.call_records import aware, in_window, party, seconds
from portal.providers.capabilities import Capability
from portal.providers.paging import PageGuard
from portal.providers.parsing import Reader, excerpt
from portal.providers.phone import country_of, normalize_e164

PER_PAGE = 100  # tryvox.md §2.1: the documented maximum, so the fewest round trips
DEFAULT_CURRENCY = "USD"  # tryvox.md §3.1: TryVox bills everything in USD

# tryvox.md §3 and §2.6: TryVox's statuses are the portal's; any other is a shape we do not
# know, and guessing would show a number as usable when it may not be.
STATUSES = {status: status for status in ("active", "pending", "suspended", "released")}
NUMBER_TYPES = {"local": "local", "toll_free": "toll_free", "mobile": "mobile"}

logger = logging.getLogger(__name__)


class TryVoxAdapter(ProviderAdapter):
    slug = "tryvox"
    name = "TryVox"
    capabilities = frozenset(
        {
            Capability.LIST_NUMBERS,
            Capability.GET_NUMBER,
            Capability.SEARCH_NUMBERS,  # [INFERRED] endpoint, tryvox.md §2.3
            Capability.PURCHASE,
            Capability.RELEASE,
            Capability.BALANCE,  # [INFERRED] endpoint, tryvox.md §2.7
            Capability.CALL_RECORDS,
        }
    )
    # tryvox.md §2.8: the call list has no time filter and comes newest first.
    calls_filter_by_time = False
    # (HTTP status | None, error.code | None) → error. The statuses of purchase are from
    # seed 004; the codes of §2.9 are documented; the rest are [INFERRED] (tryvox.md §2.4).
    error_table = {
        (None, "UNAUTHORIZED"): errors.AuthenticationFailed,
        (None, "FORBIDDEN"): errors.AuthenticationFailed,  # a valid key on another account's path
        (None, "RATE_LIMITED"): errors.RateLimited,
        (None, "MAX_ATTEMPTS_EXCEEDED"): errors.RateLimited,
        (None, "INTERNAL_ERROR"): errors.UpstreamUnavailable,
        (None, "DELIVERY_FAILED"): errors.UpstreamUnavailable,
        (None, "VERIFICATION_FAILED"): errors.InvalidRequest,
        # Seed 004: 400 is "invalid E.164 format or country code". Paging parameters can be
        # invalid too, but this adapter always sends them in range, so a 400 is the number.
        (400, None): errors.InvalidNumber,
        (None, "VALIDATION_FAILED"): errors.InvalidNumber,
        # tryvox.md §2.2/§2.6: the number is not on this account. (On purchase, seed 004's
        # 404 means "not in the available inventory": `purchase` says so.)
        (404, None): errors.NotFound,
        (None, "NOT_FOUND"): errors.NotFound,
        # Seed 004: 409 "already purchased by another account" (also cooling-off, §2.6).
        (409, None): errors.NumberUnavailable,
        (None, "NUMBER_UNAVAILABLE"): errors.NumberUnavailable,
        (402, None): errors.InsufficientFunds,
        (None, "INSUFFICIENT_BALANCE"): errors.InsufficientFunds,
        # [INFERRED] codes the sandbox uses where TryVox publishes none.
        (None, "REGION_NOT_ALLOWED"): errors.RegionNotAllowed,
        (None, "CONFLICT"): errors.InvalidRequest,  # release of a pending/suspended number (§2.6)
    }

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.account.secret}"}

    def error_code(self, body: Any) -> str:
        code = _error_field(body, "code")
        return code if isinstance(code, str) else ""

    def error_message(self, body: Any) -> str:
        message = _error_field(body, "message")
        return message if isinstance(message, str) else ""

    # --- numbers ----------------------------------------------------------------------------

    def iter_owned_numbers(self) -> Iterator[OwnedNumber]:
        for item in self._pages(self._account_path("numbers"), {}, "numbers"):
            yield self._owned(item)

    def get_number(self, number: str) -> OwnedNumber:
        return self._owned(self._object(self.request("GET", self._number_path(number))))

    def search_available(self, query: SearchQuery) -> list[AvailableNumber]:
        """Inventory search ([INFERRED] endpoint, tryvox.md §2.3). TryVox filters by
        type, region name and digits but not by area code or capabilities, and its
        filters are unverified: the whole query is checked here too."""
        if query.limit < 1:
            return []
        params = self._inventory_params(query)
        items = self._pages(self._account_path("inventory/numbers"), params, "inventory")
        return first_matching(query, (self._available(item) for item in items))

    def purchase(
        self, number: str, *, label: str = "", quote: AvailableNumber | None = None
    ) -> OwnedNumber:
        """Seed 004: `{e164, country}` and nothing else (a strict API refuses a field it
        does not document), the bare number object back (200 or 201). `label` is not sent:
        TryVox numbers have none (the portal keeps it). No price is sent either: TryVox
        charges its current fees, which the number object it answers states."""
        e164 = _normalized(number)
        body = {"e164": e164, "country": _country(e164, quote)}
        path = self._account_path("numbers/purchase-from-inventory")
        try:
            return self._owned(self._object(self.request("POST", path, json=body)))
        except errors.NotFound as exc:
            # Seed 004: a 404 here is "number not found in available inventory".
            raise errors.NumberUnavailable(
                exc.message, provider=self.name, status=exc.status, code=exc.code
            ) from exc

    def release(self, number: OwnedNumber) -> None:
        """tryvox.md §2.6: DELETE; the upstream charges any early termination fee and
        holds the number in cooling-off. The answer is checked, then nothing is returned."""
        body = self._object(self.request("DELETE", self._number_path(number.number)))
        body.e164("e164")
        body.money("early_termination_fee", required=False)
        if body.str("status", "released") != "released":
            raise errors.UnexpectedResponse(
                "response.status: the number was not released",
                provider=self.name,
                excerpt=excerpt(body.value),
            )

    # --- billing ----------------------------------------------------------------------------

    def get_balance(self) -> Balance:
        """[INFERRED] tryvox.md §2.7: `{account_id, balance, currency, updated_at}`."""
        body = self._object(self.request("GET", self._account_path("balance")))
        return Balance(amount=body.money("balance"), currency=_currency(body))

    # --- call records (tryvox.md §2.8) -----------------------------------------------------

    def iter_calls(self, since: datetime | None, until: datetime) -> Iterator[UpstreamCall]:
        """`GET /v1/voice/accounts/{auth_id}/calls`: no time filter, newest first, paged by
        `page`/`per_page` (max 100) up to `pagination.total_pages`. Read from the newest
        down, it stops after the first page that reaches back past `since`. No list item
        has a price (only a call's detail does): each call comes unpriced, its currency
        unknown ("") until `price_calls` reads the detail's `price_unit`."""
        since, until = aware(since), aware(until)
        guard = PageGuard(self.name, "calls")
        page = 1
        while True:
            body = self._object(
                self.request("GET", self._calls_path(), params={"page": page, "per_page": PER_PAGE})
            )
            items = body.list("calls")
            reached_since = False
            for index, item in enumerate(guard.page(items)):
                call = self._call(Reader(item, f"calls[{index}]", provider=self.name))
                reached_since |= since is not None and call.started_at < since
                if in_window(call.started_at, since, until):
                    yield call
            total_pages = body.object("pagination").int("total_pages")
            if not items or reached_since or page >= total_pages:
                return
            page += 1

    def price_calls(self, calls: Sequence[tuple[str, datetime]]) -> dict[str, CallPrice]:
        """One `GET …/calls/{call_uuid}` per call (§2.8: only the detail has `price`), at
        most settings.CALL_PRICING_WORKERS at once, each with the usual retries and
        deadline (the client is thread-safe). A call whose detail has no price yet, or
        that TryVox no longer finds, is left out, to be asked again."""
        call_ids = list(dict.fromkeys(call_id for call_id, _ in calls))
        if not call_ids:
            return {}
        workers = max(1, min(settings.CALL_PRICING_WORKERS, len(call_ids)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tryvox-price")
        try:
            found = list(pool.map(self._call_price, call_ids))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return {
            call_id: price
            for call_id, price in zip(call_ids, found, strict=True)
            if price is not None
        }

    def _call_price(self, call_id: str) -> CallPrice | None:
        try:
            body = self.request("GET", f"{self._calls_path()}/{quote(call_id, safe='')}")
        except errors.NotFound:
            # A call the listing named but whose detail is gone: left unpriced (counted as
            # such on every page), and asked again on the next sync.
            logger.warning("TryVox has no detail for call %s: left unpriced", call_id)
            return None
        detail = self._object(body)
        if not detail.has("price"):
            return None
        return CallPrice(
            cost=detail.money("price"),  # "0.0130": a 4-decimal string (§3.1)
            currency=detail.currency("price_unit", DEFAULT_CURRENCY),
            billed_seconds=seconds(detail, "billed_duration", default=None),
        )

    def _call(self, item: Reader) -> UpstreamCall:
        direction = item.str("direction", "")
        return UpstreamCall(
            upstream_id=item.str("call_uuid"),
            started_at=item.datetime("start_time"),
            from_number=party(item, "from"),
            to_number=party(item, "to"),
            direction=direction if direction in ("inbound", "outbound") else "",
            status=item.str("status", ""),
            duration_seconds=seconds(item, "duration"),
        )

    def _calls_path(self) -> str:
        # tryvox.md §6.2: calls live under `/v1/voice/accounts/{auth_id}`, not `/v1/account`.
        return f"/voice/accounts/{quote(self.account.upstream_account_id, safe='')}/calls"

    # --- paths, paging and records ----------------------------------------------------------

    def _account_path(self, rest: str) -> str:
        return f"/account/{quote(self.account.upstream_account_id, safe='')}/{rest}"

    def _number_path(self, number: str) -> str:
        # tryvox.md §2: every documented example writes the `+` literally in the path.
        return self._account_path(f"numbers/{quote(_normalized(number), safe='+')}")

    def _pages(self, path: str, params: Mapping[str, str], kind: str) -> Iterator[Reader]:
        """Every item of a paged list of `kind`, one page in memory at a time. Stops after
        `total_pages` (both documented pagination shapes carry it) or at an empty page, never
        at a short one: a page with fewer items than `per_page` is not the last by itself.
        A page read before, or rows past the kind's ceiling, end it as an error (PageGuard):
        `total_pages` is the upstream's word, not a promise."""
        guard = PageGuard(self.name, kind)
        page = 1
        while True:
            body = self._object(
                self.request("GET", path, params={**params, "page": page, "per_page": PER_PAGE})
            )
            items = body.list("data")
            for index, item in enumerate(guard.page(items)):
                yield Reader(item, f"{body.where}.data[{index}]", provider=self.name)
            total_pages = body.object("pagination").int("total_pages")
            if not items or page >= total_pages:
                return
            page += 1

    def _object(self, body: Any) -> Reader:
        """A response object; tryvox.md §6.4: accept it bare or wrapped in `{"data": …}`."""
        if isinstance(body, Mapping) and isinstance(body.get("data"), Mapping):
            body = body["data"]
        return Reader(body, "response", provider=self.name)

    def _owned(self, item: Reader) -> OwnedNumber:
        return OwnedNumber(
            status=item.term("status", STATUSES),
            purchased_at=item.datetime("created_at", required=False),
            released_at=item.datetime("released_at", required=False),
            **_number_facts(item),
        )

    def _available(self, item: Reader) -> AvailableNumber:
        return AvailableNumber(**_number_facts(item))

    @staticmethod
    def _inventory_params(query: SearchQuery) -> dict[str, str]:
        """The [INFERRED] §2.3 filters. An area code is not a TryVox filter: its digits,
        after the country code, narrow `contains` upstream (unless the caller asked for
        other digits) and the area itself is checked on each offer."""
        country = query.country.upper()
        params = {"country": country}
        if query.number_type:
            params["type"] = query.number_type
        if query.contains:
            params["contains"] = query.contains
        if query.area.isdigit():
            params.setdefault(
                "contains", f"{phonenumbers.country_code_for_region(country)}{query.area}"
            )
        elif query.area:
            params["region"] = query.area
        return params


def _error_field(body: Any, name: str) -> Any:
    """tryvox.md §2.9: `{"error": {"code", "message", "details"}}`."""
    error = body.get("error") if isinstance(body, Mapping) else None
    return error.get(name) if isinstance(error, Mapping) else None


def _number_facts(item: Reader) -> dict:
    """What an owned number and an offer both state, under the same names (tryvox.md §2)."""
    return {
        "number": item.e164("e164"),
        "currency": _currency(item),
        "country": item.str("country", "").upper(),
        "region": item.str("region", ""),
        "number_type": NUMBER_TYPES.get(item.str("type", ""), "unknown"),
        "capabilities": _capabilities(item),
        "setup_fee": item.money("setup_fee"),
        "monthly_fee": item.money("monthly_fee"),
    }


def _currency(item: Reader) -> str:
    currency = item.str("currency", DEFAULT_CURRENCY)
    if len(currency) != 3 or not currency.isalpha():
        raise errors.UnexpectedResponse(
            f"{item.where}.currency: {currency!r} is not an ISO currency code",
            provider=item.provider,
            excerpt=excerpt(item.value),
        )
    return currency.upper()


def _capabilities(item: Reader) -> frozenset[str]:
    """tryvox.md §3: a subset of voice, sms, mms; unknown future ones are left out."""
    values = item.list("capabilities", required=False)
    if not all(isinstance(value, str) for value in values):
        raise errors.UnexpectedResponse(
            f"{item.where}.capabilities: expected a list of text",
            provider=item.provider,
            excerpt=excerpt(item.value),
        )
    return frozenset(value for value in values if value in NUMBER_CAPABILITIES)


def _normalized(number: str) -> str:
    """E.164 when the number is one; otherwise as given, for the upstream to refuse with
    its documented 400 (so the caller sees TryVox's own reason)."""
    try:
        return normalize_e164(number)
    except ValidationError:
        return number.strip()


def _country(e164: str, quote: AvailableNumber | None) -> str:
    """The purchase body's required `country` (seed 004): the quote's, else the number's."""
    if quote is not None and quote.country:
        return quote.country
    try:
        return country_of(e164)
    except phonenumbers.NumberParseException:
        return ""
