"""Ravan (product name Agni): the `X-Api-Key` REST API under `/api/v1`.

What Ravan offers, per `shared/providers/ravan.md`: the owned-number list (one response, no
pagination), available numbers with prices per country, buying at the quoted price, release,
and the organization's credit balance. It has no label writer and no transactions API: the
portal keeps labels itself and estimates rental from each number's `price` (§2.5, §2.8).

Money is implicit USD in major units (§3.1), sent and read as exact JSON numbers. Errors come
in two unrelated shapes (§1.2): gRPC-gateway `{"code": <int>, "message", "details"}` and the
envelope `{"success": false, "message", "error": {"code": "<TEXT>", "message"}}`;
`error_code` turns both into one text code for `error_table`.

What each endpoint states of an owned number, and which wins where two do (numbers.fees,
numbers.services.synced_values: a field an answer leaves out never erases a known value):

| field | list §2.1 | buy §2.4 | offer §2.3 | precedence |
|---|---|---|---|---|
| status (`is_active`), id, label | yes | `status` | — | listing |
| purchased_at | `created_at` | `purchased_at` | — | the buy's; `created_at` fills a gap |
| country, region | yes | — | yes | listing, else the offer's |
| type | from the number | from the number | from the number | the number |
| capabilities | voice ([INFERRED]) | voice | voice | — |
| rental (per 28 days) | `price` | `price` | `price` | listing |
| setup fee | — | — | — | unknown: Ravan states none |
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote as quote_path

import phonenumbers

from portal.providers import errors, parsing
from portal.providers.base import (
    AvailableNumber,
    Balance,
    OwnedNumber,
    ProviderAdapter,
    SearchQuery,
    UpstreamCall,
    offer_matches,
)
from portal.providers.call_records import aware, in_window, parts, party, seconds
from portal.providers.capabilities import Capability
from portal.providers.paging import PageGuard
from portal.providers.parsing import Reader
from portal.providers.phone import country_of, number_type_of

# ravan.md §3.1: no phone object carries a currency; every amount is USD. The credit
# balance is assumed to be USD too (1 credit = 1 USD, [INFERRED] §2.7, unconfirmed).
CURRENCY = "USD"
# Ravan numbers carry inbound and outbound per-minute call prices and nothing about SMS:
# they are voice numbers for voice agents ([INFERRED] from §2.3 and §3).
NUMBER_CAPABILITIES = frozenset({"voice"})
# ravan.md §2.3: `page_size` has no documented default or cap; the simulator caps it at 100.
MAX_PAGE_SIZE = 100

# §3: `is_active` is the only status Ravan reports.
STATUS_BY_ACTIVE = {True: "active", False: "suspended"}
# §2.4: the buy response's `status`; only "active" is documented.
STATUS_AFTER_PURCHASE = {"active": "active"}

# gRPC status codes the gateway writes into `code` (§1.2), by their canonical names.
GRPC_STATUS_NAMES = {
    3: "INVALID_ARGUMENT",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    16: "UNAUTHENTICATED",
}
# §2.4: FAILED_PRECONDITION covers several purchase refusals and only its message says
# which ("price mismatch: current price is 1.25"; insufficient credits, [INFERRED]).
PRECONDITION_REASONS = (
    ("price mismatch", "PRICE_MISMATCH"),
    ("insufficient", "INSUFFICIENT_CREDITS"),
)
# A bad number in a request is INVALID_ARGUMENT with a google.rpc.BadRequest field violation
# naming the number's field, as grpc-gateway reports it ([INFERRED]: the published 400 has
# empty `details`, which stays a plain invalid request). One naming the country refuses the
# country: for a real one (§2.3's path takes any ISO code), a country Ravan has no numbers in.
NUMBER_FIELDS = frozenset({"phone_number", "phoneNumber", "number"})
COUNTRY_FIELDS = frozenset({"iso_country", "isoCountry", "country"})

# ravan.md §2.3: the published example item is camelCase, the OpenAPI schema snake_case.
AVAILABLE_FIELD_SPELLINGS = {
    "phone_number": ("phoneNumber", "phone_number"),
    "iso_country": ("isoCountry", "iso_country"),
    "per_minute_price_inbound": ("perMinutePriceInbound", "per_minute_price_inbound"),
    "per_minute_price_outbound": ("perMinutePriceOutbound", "per_minute_price_outbound"),
}
# What a purchase echoes back from the quote (§2.4): `price` is required, the rest optional.
QUOTE_FIELDS = ("price", "per_minute_price_inbound", "per_minute_price_outbound")


class RavanAdapter(ProviderAdapter):
    slug = "ravan"
    name = "Ravan"
    capabilities = frozenset(
        {
            Capability.LIST_NUMBERS,
            Capability.GET_NUMBER,  # from the list: there is no get-one endpoint (§2.2)
            Capability.SEARCH_NUMBERS,
            Capability.PURCHASE,
            Capability.RELEASE,
            Capability.BALANCE,
            Capability.CALL_RECORDS,
        }
    )
    # ravan.md §2.6: managed numbers renew every 28 days (13 times a year), not monthly.
    rental_period_days = 28
    # §2.6: a renewal not paid within 48 hours releases the number for good.
    renewal_grace_hours = 48
    # §2.1: the list's `created_at` is when Ravan created the record; the purchase's own
    # time (from the buy answer, or the portal's order) is the purchase date.
    listing_fills_only = frozenset({"purchased_at"})
    error_table = {
        (None, "UNAUTHENTICATED"): errors.AuthenticationFailed,
        (None, "FORBIDDEN"): errors.AuthenticationFailed,
        (None, "PERMISSION_DENIED"): errors.AuthenticationFailed,
        (None, "ALREADY_EXISTS"): errors.NumberUnavailable,
        (None, "PRICE_MISMATCH"): errors.PriceChanged,
        (None, "INSUFFICIENT_CREDITS"): errors.InsufficientFunds,
        (None, "REGION_NOT_ALLOWED"): errors.RegionNotAllowed,
        (None, "INVALID_PHONE_NUMBER"): errors.InvalidNumber,
        (None, "INVALID_ARGUMENT"): errors.InvalidRequest,
        (None, "INVALID_COUNTRY"): errors.InvalidRequest,
        (None, "FAILED_PRECONDITION"): errors.InvalidRequest,
        (None, "NOT_FOUND"): errors.NotFound,
        (None, "RESOURCE_EXHAUSTED"): errors.RateLimited,
        (None, "INTERNAL_ERROR"): errors.UpstreamUnavailable,
        (None, "BAD_GATEWAY"): errors.UpstreamUnavailable,
        (None, "UNAVAILABLE"): errors.UpstreamUnavailable,
    }

    # --- authentication and error bodies --------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.account.secret}

    def error_code(self, body: Any) -> str:
        if not isinstance(body, Mapping):
            return ""
        error = body.get("error")
        if isinstance(error, Mapping) and isinstance(error.get("code"), str):
            return error["code"]
        code = body.get("code")
        if isinstance(code, int) and not isinstance(code, bool):
            return _grpc_error_code(code, body)
        return ""

    def error_message(self, body: Any) -> str:
        # ravan.md §1.2: read `error.message` when `error` is an object, else `message`.
        if not isinstance(body, Mapping):
            return ""
        error = body.get("error")
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return error["message"]
        message = body.get("message")
        return message if isinstance(message, str) else ""

    # --- numbers --------------------------------------------------------------------------

    def iter_owned_numbers(self) -> Iterator[OwnedNumber]:
        # ravan.md §2.1: no limit/offset/meta; the whole list comes in one response.
        yield from self._iter_listed()

    def get_number(self, number: str) -> OwnedNumber:
        # §2.2: no get-one endpoint for purchased numbers; the list, narrowed to the
        # number's country by the documented `iso_country` filter, is the way.
        e164 = self._e164(number)
        country = country_of(e164)
        params = {"iso_country": country} if country else None
        for owned in self._iter_listed(params):
            if owned.number == e164:
                return owned
        raise errors.NotFound(f"{e164} is not on this Ravan account", provider=self.name)

    def search_available(self, query: SearchQuery) -> list[AvailableNumber]:
        country = query.country.strip().upper()
        region, area_code = _region_or_area_code(query.area)
        # Ravan filters by region only (§2.3); the type, an area code, the digits a number
        # contains and capabilities are matched here, within the largest page Ravan gives.
        narrows_locally = bool(
            area_code or query.contains or query.number_type or query.capabilities
        )
        page_size = MAX_PAGE_SIZE if narrows_locally else min(max(query.limit, 1), MAX_PAGE_SIZE)
        params: dict[str, Any] = {"page_size": page_size}
        if region:
            params["region"] = region
        try:
            body = self.request(
                "GET", f"/phone-numbers/available-numbers/{_segment(country)}/", params=params
            )
        except errors.InvalidRequest as exc:
            if exc.code == "INVALID_COUNTRY" and country in phonenumbers.SUPPORTED_REGIONS:
                raise errors.RegionNotAllowed(
                    f"no numbers in {country}", provider=self.name, status=exc.status, code=exc.code
                ) from exc
            raise
        offers = (
            self._available(item, f"data[{index}]", country, region)
            for index, item in enumerate(self._data_list(body))
        )
        matching = [offer for offer in offers if offer_matches(query, offer)]
        return matching[: max(query.limit, 0)]

    def purchase(
        self, number: str, *, label: str = "", quote: AvailableNumber | None = None
    ) -> OwnedNumber:
        # `label` stays in the portal: Ravan cannot store one on a bought number (§2.5).
        e164 = self._e164(number)
        body = self.request("POST", "/phone-numbers/buy/", json=self._buy_body(e164, quote))
        data = self._data_object(body)
        # §2.4: the answer has no id or region; the next list (§2.1) brings the id. A status
        # other than the documented "active" is still a purchase Ravan accepted: pending.
        return OwnedNumber(
            number=data.e164("phone_number"),
            status=STATUS_AFTER_PURCHASE.get(data.str("status", "active"), "pending"),
            currency=CURRENCY,
            country=quote.country,
            region=quote.region,
            capabilities=NUMBER_CAPABILITIES,
            monthly_fee=data.money("price", required=False),
            purchased_at=data.datetime("purchased_at", required=False),
        )

    def release(self, number: OwnedNumber) -> None:
        # §2.6: the E.164 goes into the path with a literal `+`, as the examples write it.
        path = f"/phone-numbers/{_segment(number.number, safe='+')}/release/"
        self._data_object(self.request("DELETE", path))

    # --- billing ----------------------------------------------------------------------------

    def get_balance(self) -> Balance:
        org_id = self.account.upstream_account_id.strip()
        if not org_id:
            raise errors.InvalidRequest(
                "the Ravan balance needs the organization id as the account id",
                provider=self.name,
            )
        body = self.request("GET", f"/organizations/profile/{_segment(org_id)}")
        # §2.7: the page does not show whether the profile is wrapped in the envelope.
        profile = Reader(body, provider=self.name)
        if profile.has("data"):
            profile = profile.object("data")
        return Balance(amount=profile.money("total_credits"), currency=CURRENCY)

    # --- reading responses --------------------------------------------------------------------

    def _iter_listed(self, params: Mapping[str, str] | None = None) -> Iterator[OwnedNumber]:
        # Streamed: the whole list comes in one answer (§2.1), however many numbers; one
        # that would not end stops at the ceiling of rows (PageGuard).
        listing = self.stream_list(
            "/phone-numbers/list", kind="numbers", params=params, check=self._envelope
        )
        for index, item in enumerate(PageGuard(self.name, "numbers").page(listing)):
            yield self._owned(item, f"data[{index}]")

    def _owned(self, item: Any, where: str) -> OwnedNumber:
        record = Reader(item, where, provider=self.name)
        number = record.e164("number")
        return OwnedNumber(
            number=number,
            status=STATUS_BY_ACTIVE[record.bool("is_active")],
            currency=CURRENCY,
            upstream_id=record.str("id"),
            label=record.str("friendly_name", ""),
            country=record.str("iso_country", "") or country_of(number),
            region=record.str("region", ""),
            number_type=number_type_of(number),  # Ravan states none (§3): the number's own
            capabilities=NUMBER_CAPABILITIES,
            # ravan.md §3.1: `price` is charged per 28-day renewal, the portal's "monthly" fee.
            monthly_fee=record.money("price", required=False),
            purchased_at=record.datetime("created_at", required=False),
        )

    def _available(self, item: Any, where: str, country: str, region: str) -> AvailableNumber:
        offer = Reader(item, where, provider=self.name)
        spelled = {
            field: _spelling(offer, names) for field, names in AVAILABLE_FIELD_SPELLINGS.items()
        }
        number = offer.e164(spelled["phone_number"])
        quote = {"price": offer.money("price")}
        for field in ("per_minute_price_inbound", "per_minute_price_outbound"):
            amount = offer.money(spelled[field], required=False)
            if amount is not None:
                quote[field] = amount
        return AvailableNumber(
            number=number,
            currency=CURRENCY,
            country=offer.str(spelled["iso_country"], "") or country,
            region=offer.str("region", "") or region,
            number_type=number_type_of(number),  # Ravan states none (§2.3): the number's own
            capabilities=NUMBER_CAPABILITIES,
            monthly_fee=quote["price"],
            quote=quote,
        )

    def _data_list(self, body: Any) -> list:
        return self._envelope(body).list("data")

    def _data_object(self, body: Any) -> Reader:
        return self._envelope(body).object("data")

    def _envelope(self, body: Any) -> Reader:
        envelope = Reader(body, provider=self.name)
        if not envelope.bool("success", True):
            raise errors.UnexpectedResponse(
                "success is false in a successful HTTP answer",
                provider=self.name,
                excerpt=parsing.excerpt(body),
            )
        return envelope

    # --- call records (§2.8) -------------------------------------------------------------------

    def iter_calls(self, since: datetime | None, until: datetime) -> Iterator[UpstreamCall]:
        """§2.8: `GET /calling/call-sessions`, filtered by `started_after`/`started_before`
        (ISO 8601) and sorted oldest first, paged by `page`/`page_size` until `meta.total`
        sessions have come (or a short page, where a shape gives no total). Both published
        shapes are read: (a) snake_case items in `data` with `meta`, (b) camelCase items in
        `data.callSessions`. A session of channel `web` has no phone number: it is the
        organization's usage, kept with its parties as published (none)."""
        since, until = aware(since), aware(until)
        params: dict[str, Any] = {
            "started_before": _iso(until),
            "sort_by": "started_at",
            "sort_order": "asc",
            "page_size": MAX_PAGE_SIZE,
        }
        if since is not None:
            params["started_after"] = _iso(since)
        guard = PageGuard(self.name, "calls")
        page, received = 1, 0
        while True:
            body = self._envelope(
                self.request("GET", "/calling/call-sessions", params={**params, "page": page})
            )
            items, total = self._sessions(body)
            for index, item in enumerate(guard.page(items)):
                call = self._session(
                    Reader(item, f"call-sessions[{received + index}]", provider=self.name)
                )
                if in_window(call.started_at, since, until):
                    yield call
            received += len(items)
            if not items or (
                received >= total if total is not None else len(items) < MAX_PAGE_SIZE
            ):
                return
            page += 1

    def iter_number_history(self, number: str) -> Iterator[UpstreamCall]:
        """§2.8: `GET /calling/phone-history?phone=` — one number's calls, paged by
        `page`/`page_size` (≤ 100) until `total_count` have come. `cost_total` is a string
        here; `twilio_cost`, `model_cost` and `credit_breakdown` are kept as parts as
        published, though they need not add up to it (§2.8's example does not)."""
        guard = PageGuard(self.name, "calls")
        page, received = 1, 0
        while True:
            body = Reader(
                self.request(
                    "GET",
                    "/calling/phone-history",
                    params={"phone": self._e164(number), "page": page, "page_size": MAX_PAGE_SIZE},
                ),
                "phone-history",
                provider=self.name,
            )
            items = body.list("calls")
            for index, item in enumerate(guard.page(items)):
                call = Reader(item, f"phone-history.calls[{received + index}]", provider=self.name)
                session = self._session(call)
                breakdown = call.raw("credit_breakdown")
                published = {
                    key: str(call.money(key))
                    for key in ("twilio_cost", "model_cost")
                    if call.has(key)
                }
                yield replace(
                    session,
                    parts=published | parts(breakdown if isinstance(breakdown, Mapping) else None),
                )
            received += len(items)
            if not items or received >= body.int("total_count"):
                return
            page += 1

    @staticmethod
    def _sessions(body: Reader) -> tuple[list, int | None]:
        """The page's items and the listing's total, in either published shape."""
        if isinstance(body.raw("data"), list):  # shape (a)
            meta = body.object("meta", required=False)
            return body.list("data"), meta.int("total") if meta else None
        data = body.object("data")  # shape (b)
        pagination = data.object("pagination", required=False)
        for holder in (pagination, data):
            for key in ("total", "totalCount", "total_count"):
                if holder is not None and holder.has(key):
                    return data.list("callSessions"), holder.int(key)
        return data.list("callSessions"), None

    def _session(self, item: Reader) -> UpstreamCall:
        """A session in either spelling. `cost_total` is a JSON number in shape (a) and a
        string in (b): both read exactly; the credit breakdown is kept as published."""
        cost_key = _spelling(item, ("cost_total", "costTotal"))
        breakdown = item.raw("credit_breakdown") or item.raw("creditBreakdown")
        direction = item.str("direction", "")
        return UpstreamCall(
            upstream_id=item.str("id"),
            started_at=item.datetime(_spelling(item, ("started_at", "startedAt"))),
            from_number=party(item, "caller_number", "callerNumber"),
            to_number=party(item, "callee_number", "calleeNumber"),
            direction=direction if direction in ("inbound", "outbound") else "",
            status=item.str("status", ""),
            duration_seconds=seconds(item, "duration_sec", "durationSec"),
            cost=item.money(cost_key, required=False),
            currency=CURRENCY,
            parts=parts(breakdown if isinstance(breakdown, Mapping) else None),
        )

    # --- writing requests ---------------------------------------------------------------------

    def _buy_body(self, e164: str, quote: AvailableNumber | None) -> dict[str, Any]:
        # §2.4: Ravan sells at the price its available list quoted, echoed back exactly;
        # there is no way to look up one number's price, so a quote is required.
        if quote is None or quote.number != e164:
            raise errors.InvalidRequest(
                f"Ravan sells {e164} only at a quoted price: search available numbers "
                "and pass the offer as the quote",
                provider=self.name,
            )
        echoed = {"price": quote.monthly_fee, **quote.quote}
        body: dict[str, Any] = {"phone_number": e164}
        for field in QUOTE_FIELDS:
            if echoed.get(field) is not None:
                body[field] = self._quoted_amount(field, echoed[field])
        if "price" not in body:
            raise errors.InvalidRequest(f"the quote for {e164} has no price", provider=self.name)
        return body

    def _quoted_amount(self, field: str, value: Any):
        try:
            return parsing.to_money(value)
        except TypeError as exc:
            raise errors.InvalidRequest(f"quote {field}: {exc}", provider=self.name) from None

    def _e164(self, number: str) -> str:
        try:
            return parsing.to_e164(number)
        except TypeError as exc:
            raise errors.InvalidNumber(f"{number!r}: {exc}", provider=self.name) from None


def _grpc_error_code(code: int, body: Mapping) -> str:
    name = GRPC_STATUS_NAMES.get(code, f"GRPC_{code}")
    message = body.get("message")
    message = message.lower() if isinstance(message, str) else ""
    if name == "FAILED_PRECONDITION":
        for marker, reason in PRECONDITION_REASONS:
            if marker in message:
                return reason
    if name == "INVALID_ARGUMENT":
        violated = _violated_fields(body)
        if NUMBER_FIELDS & violated:
            return "INVALID_PHONE_NUMBER"
        if COUNTRY_FIELDS & violated:
            return "INVALID_COUNTRY"
    return name


def _violated_fields(body: Mapping) -> set[str]:
    """Fields named by google.rpc.BadRequest entries in a gRPC error's `details`."""
    details = body.get("details")
    fields = set()
    for detail in details if isinstance(details, list) else ():
        violations = detail.get("fieldViolations") if isinstance(detail, Mapping) else None
        for violation in violations if isinstance(violations, list) else ():
            if isinstance(violation, Mapping) and isinstance(violation.get("field"), str):
                fields.add(violation["field"])
    return fields


def _spelling(reader: Reader, names: tuple[str, ...]) -> str:
    """The first of a field's spellings present (the first one when none is, so the
    error names the published spelling)."""
    return next((name for name in names if reader.has(name)), names[0])


def _region_or_area_code(area: str) -> tuple[str, str]:
    area = area.strip()
    return ("", area) if area.isdigit() else (area, "")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _segment(value: str, safe: str = "") -> str:
    return quote_path(value, safe=safe)
