"""Ravan (Agni) as documented in `shared/providers/ravan.md`, served under `/ravan/api/v1`.

Documented: the owned-number list (§2.1), available numbers per country (§2.3), buy at the
echoed price (§2.4), release (§2.6), the organization profile with its credits (§2.7), call
sessions and per-number call history (§2.8), the success envelope and both error shapes
(§1.2). [INFERRED] here, as the reference recommends for a simulator: the purchase refusals of
§2.4, `limit`/`offset` + `meta` on the list when asked for, get-one by id (§2.2), the 429 body
(§4), and the rendering of ids, trunks and call records from the seed.

Per-request switches for tests and demos (header `X-Sandbox-Variant`, comma-separated):
`snake_case` answers available numbers in the OpenAPI schema's spelling instead of the
published camelCase; `grpc-insufficient` refuses a purchase without credit with
400 `{"code": 9}` instead of 402 (§2.4 allows both); `label-writes` opens the opt-in
`PATCH /phone-numbers/{id}/` that sets `friendly_name` (§2.5: not part of Ravan's API).

Sandbox only, not Ravan's API: each listed number also carries `next_renewal_at`, its next
28-day renewal (§2.6, §5.8's renewal clock: purchase + n * 28 days). Ravan publishes no such
field, so the portal derives the date itself; tests check the two agree.
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from portal.providers.ravan import simulator_calls
from portal.providers.sandbox.http import Request, Response, Router, page_slice
from portal.providers.sandbox.simulated import Reject, SandboxProvider
from portal.providers.sandbox.state import CatalogEntry, SandboxError, iso

API = "/api/v1"
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
UUID_PATTERN = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
CENTS = Decimal("0.01")
PRICE_QUANTUM = Decimal("0.0001")
# [INFERRED] ravan.md §5.4: page_size defaults to 10 and is capped at 100.
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
# [INFERRED] the intro's list pattern (§2.1): limit defaults to 20.
DEFAULT_LIST_LIMIT = 20
# ravan.md §2.7 [DOCS-SRC guides/billing]: usage is sold at a flat $0.07 per minute.
AGENT_PRICE_PER_MINUTE = Decimal("0.07")
# ravan.md §2.6: managed numbers renew every 28 days.
RENEWAL_PERIOD = timedelta(days=28)
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


@dataclass(frozen=True)
class NumberBlock:
    """A catalog block and the per-minute call prices Ravan quotes with its numbers
    (the shared CatalogEntry knows only setup and monthly fees)."""

    entry: CatalogEntry
    per_minute_inbound: str
    per_minute_outbound: str


def _block(country, region, prefix, digits, price, inbound, outbound) -> NumberBlock:
    # Ravan charges no setup fee: buying debits `price`, the first 28-day period (§5.5).
    entry = CatalogEntry(
        country, region, prefix, digits, "local", "0", price, capabilities=("voice",)
    )
    return NumberBlock(entry, inbound, outbound)


# The documented example values for the US (§2.3: +1361…, 1.15, 0.0085, 0.0945); GB at
# seeded prices of its own (§5.4), with at most 4 decimals.
NUMBER_BLOCKS = (
    _block("US", "TX", "+1361", 7, "1.15", "0.0085", "0.0945"),
    _block("US", "TX", "+1512", 7, "1.15", "0.0085", "0.0945"),
    _block("US", "CA", "+1213", 7, "1.15", "0.0085", "0.0945"),
    _block("GB", "London", "+4420", 8, "2.50", "0.0125", "0.0475"),
)

# §1.2: the documented envelope errors, by HTTP status: (message, error.code, error.message).
ENVELOPE_ERRORS = {
    403: (
        "You do not have permission to perform this action",
        "FORBIDDEN",
        "Insufficient permissions for this resource",
    ),
    500: (
        "Something went wrong on our end",
        "INTERNAL_ERROR",
        "An unexpected error occurred. Please try again later.",
    ),
    502: (
        "Service temporarily unavailable",
        "BAD_GATEWAY",
        "Unable to reach upstream service. Please try again.",
    ),
    # [INFERRED] 503 is not documented; it reads like the 502.
    503: (
        "Service temporarily unavailable",
        "SERVICE_UNAVAILABLE",
        "The service is overloaded. Please try again.",
    ),
}


def amount(value) -> Decimal:
    """An exact JSON amount as Ravan writes them: 1.15, 0.0085, 2.50, never 4E+1."""
    number = Decimal(value).normalize()
    return number.quantize(CENTS) if number.as_tuple().exponent > -2 else number


def _digest(*parts: Any) -> bytes:
    return hashlib.sha256(":".join(map(str, parts)).encode()).digest()


def _uuid7(moment: str, *parts: Any) -> str:
    """A UUID v7 (§1: Ravan's ids) for `moment`, its random bits derived from `parts`."""
    millis = int(datetime.fromisoformat(moment).timestamp() * 1000)
    randomness = int.from_bytes(_digest(*parts)[:10])
    value = (millis & (2**48 - 1)) << 80 | 0x7 << 76 | (randomness >> 68) << 64
    value |= 0b10 << 62 | randomness & (2**62 - 1)
    return str(uuid.UUID(int=value))


def _number_id(record: dict) -> str:
    """A purchased number's id: a UUID v7 of when it was bought, stable for the record."""
    created = record["purchased_at"] or record["updated_at"]
    return _uuid7(created, record["id"], created)


def _block_of(e164: str) -> NumberBlock:
    matching = [block for block in NUMBER_BLOCKS if e164.startswith(block.entry.prefix)]
    if not matching:  # a number from a state file written with another catalog
        return NUMBER_BLOCKS[0]
    return max(matching, key=lambda block: len(block.entry.prefix))


class RavanSandbox(SandboxProvider):
    slug = "ravan"
    api_path = API
    catalog = tuple(block.entry for block in NUMBER_BLOCKS)

    def add_routes(self, router: Router) -> None:
        numbers = f"{API}/phone-numbers"
        router.add("GET", f"{numbers}/list", self.list_numbers)
        router.add("GET", f"{numbers}/available-numbers/(?P<iso_country>[^/]*)", self.available)
        router.add("POST", f"{numbers}/buy", self.buy)
        router.add("DELETE", f"{numbers}/(?P<phone_number>[^/]+)/release", self.release)
        router.add("GET", f"{numbers}/(?P<number_id>{UUID_PATTERN})", self.get_number)
        router.add("PATCH", f"{numbers}/(?P<number_id>{UUID_PATTERN})", self.set_friendly_name)
        router.add("GET", f"{API}/organizations/profile/(?P<org_id>[^/]+)", self.profile)
        router.add("GET", f"{API}/calling/call-sessions", self.call_sessions)
        router.add("GET", f"{API}/calling/phone-history", self.phone_history)

    # --- phone numbers --------------------------------------------------------------------

    def list_numbers(self, request: Request) -> Response:
        account = self.authenticate(request)
        message = "Phone numbers fetched successfully"
        if "limit" not in request.query and "offset" not in request.query:
            # §2.1: the whole list in one answer, without `meta`.
            records, _ = self.state.owned_page(account, where=lambda r: _listed(r, request))
            return self.ok(message, [self.purchased_number(account, r) for r in records])
        limit = _positive(request.int_arg("limit", DEFAULT_LIST_LIMIT), "limit")
        offset = request.int_arg("offset", 0)
        if offset < 0:
            raise ValueError("offset must not be negative")
        records, total = self.state.owned_page(
            account, offset, limit, where=lambda r: _listed(r, request)
        )
        page = page_slice(records, short_page=request.short_page)
        body = self.envelope(message, [self.purchased_number(account, r) for r in page])
        body["meta"] = {"total": total, "limit": limit, "offset": offset}
        return Response(200, body)

    def available(self, request: Request, iso_country: str) -> Response:
        self.authenticate(request)
        country = iso_country.upper()
        if country not in {block.entry.country for block in NUMBER_BLOCKS}:
            raise Reject(self.invalid(f"unsupported iso_country {iso_country!r}", "iso_country"))
        page_size = min(
            _positive(request.int_arg("page_size", DEFAULT_PAGE_SIZE), "page_size"), MAX_PAGE_SIZE
        )
        offers, _ = self.state.inventory_page(
            self.slug, 0, page_size, country=country, region=request.arg("region", "") or ""
        )
        offers = page_slice(offers, short_page=request.short_page)
        render = _snake_offer if _wants(request, "snake_case") else _camel_offer
        return self.ok("Available numbers fetched successfully", [render(r) for r in offers])

    def buy(self, request: Request) -> Response:
        account = self.authenticate(request)
        body = request.json()
        if not isinstance(body, dict):
            raise Reject(self.invalid("the body must be a JSON object", ""))
        e164 = body.get("phone_number")
        if not isinstance(e164, str) or not e164:
            raise Reject(self.invalid("phone_number is required", "phone_number"))
        price = self.echoed(body, "price", required=True)
        self.check_per_minute_prices(e164, body)
        try:
            record = self.state.buy(account, e164, expected_monthly_fee=price)
        except SandboxError as error:
            if error.kind == SandboxError.INSUFFICIENT_FUNDS and _wants(
                request, "grpc-insufficient"
            ):
                refusal = self.grpc(400, 9, f"insufficient credits: {_credits(error)}")
                raise Reject(refusal) from None
            raise
        data = {
            "phone_number": record["e164"],
            "price": amount(record["monthly_fee"]),
            "status": "active",
            "purchased_at": record["purchased_at"],
        }
        return self.ok("Phone number purchased successfully", data)

    def release(self, request: Request, phone_number: str) -> Response:
        account = self.authenticate(request)
        if not E164.fullmatch(phone_number):
            raise Reject(self.invalid(f"{phone_number!r} is not E.164", "phone_number"))
        record = self.state.release(account, phone_number)
        data = {
            "phone_number": phone_number,
            "status": "released",
            "released_at": record["released_at"],
        }
        return self.ok("Phone number released successfully", data)

    def get_number(self, request: Request, number_id: str) -> Response:
        account = self.authenticate(request)
        return self.ok("Phone number fetched successfully", self.find_by_id(account, number_id))

    def set_friendly_name(self, request: Request, number_id: str) -> Response:
        account = self.authenticate(request)
        if not _wants(request, "label-writes"):
            # §2.5: Ravan has no such endpoint; the simulator opens it only when asked.
            raise Reject(self.not_found("No route", f"PATCH {request.path} is not served"))
        body = request.json()
        name = body.get("friendly_name") if isinstance(body, dict) else None
        if not isinstance(name, str):
            raise Reject(self.invalid("friendly_name is required", "friendly_name"))
        number = self.find_by_id(account, number_id)["number"]
        record = self.state.set_label(account, number, name)
        return self.ok("Phone number updated successfully", self.purchased_number(account, record))

    # --- organization and calls -----------------------------------------------------------

    def profile(self, request: Request, org_id: str) -> Response:
        account = self.authenticate(request)
        if org_id != account["account_id"]:  # §5.9: not the caller's organization
            raise Reject(self.envelope_error(403))
        anchor = self.state.anchor
        data = {
            "id": account["account_id"],
            "name": account["name"] or "Demo Org",
            "slug": re.sub(r"[^a-z0-9]+", "-", (account["name"] or "demo org").lower()).strip("-"),
            "website": "https://example.com",
            "status": "active",
            "region_id": "us-east-1",
            "total_credits": amount(self.state.balance(account)),
            "max_credits": amount(1000),
            "plan_name": "Growth",
            "sub_status": "active",
            "period_end": iso(anchor + timedelta(days=28)),
            "max_concurrency": 10,
            "max_members": 25,
            "max_agents": 50,
            "api_rate_limit": 600,
            "can_record_calls": True,
            "can_use_api": True,
        }
        return self.ok("Organization profile fetched successfully", data)

    def call_sessions(self, request: Request) -> Response:
        """§2.8 shape (a): snake_case sessions in `data` with `meta`, paged by page/page_size."""
        account = self.authenticate(request)
        page, page_size = _page(request)
        if self.state.has_calls(account):
            items, total = simulator_calls.sessions_page(
                self.state, account, request, page, page_size
            )
            body = self.envelope("Call sessions fetched successfully", items)
            body["meta"] = {"total": total, "limit": page_size, "offset": (page - 1) * page_size}
            return Response(200, body)
        wanted = {
            "status": request.arg("status"),
            "channel": request.arg("channel"),
            "caller_number": request.arg("caller_number"),
        }
        after, before = request.arg("started_after"), request.arg("started_before")
        calls = [
            call
            for call in self.calls(account)
            if all(value in (None, "", call[key]) for key, value in wanted.items())
            and (not after or call["started_at"] >= after)
            and (not before or call["started_at"] < before)
        ]
        offset = (page - 1) * page_size
        items = [_session(call) for call in calls[offset : offset + page_size]]
        body = self.envelope("Call sessions fetched successfully", items)
        body["meta"] = {"total": len(calls), "limit": page_size, "offset": offset}
        return Response(200, body)

    def phone_history(self, request: Request) -> Response:
        """§2.8: one number's calls, costs as strings, in Ravan's own top-level shape."""
        account = self.authenticate(request)
        phone = (request.arg("phone") or "").strip()
        if phone and not phone.startswith("+"):
            phone = f"+{phone}"  # a `+` sent unencoded in a query string arrives as a space
        if not E164.fullmatch(phone):
            raise Reject(self.invalid("phone must be an E.164 number", "phone"))
        page, page_size = _page(request)
        offset = (page - 1) * page_size
        if self.state.has_calls(account):
            held, total = self.state.calls_of_number(account, phone, offset, page_size)
            items = [simulator_calls.history_call(call) for call in held]
        else:
            calls = [
                c for c in self.calls(account) if phone in (c["caller_number"], c["callee_number"])
            ]
            items = [_history_call(call) for call in calls[offset : offset + page_size]]
            total = len(calls)
        body = {
            "success": True,
            "message": "Phone history fetched successfully",
            "phone": phone,
            "total_count": total,
            "page": page,
            "page_size": page_size,
            "calls": items,
        }
        return Response(200, body)

    # --- authentication and bodies --------------------------------------------------------

    def authenticate(self, request: Request) -> dict:
        """§1: the `X-Api-Key` of a sandbox account selects its organization."""
        key = request.headers.get("x-api-key", "")
        account = self.state.account_by_secret(self.slug, key) if key else None
        if account is None:
            raise Reject(self.grpc(401, 16, "API key is missing or invalid"))
        return account

    def ok(self, message: str, data: Any) -> Response:
        return Response(200, self.envelope(message, data))

    @staticmethod
    def envelope(message: str, data: Any) -> dict:
        return {"success": True, "message": message, "data": data}

    @staticmethod
    def grpc(status: int, code: int, message: str, details: list | None = None) -> Response:
        return Response(status, {"code": code, "message": message, "details": details or []})

    def invalid(self, problem: str, field: str) -> Response:
        """§1.2's documented 400, with a google.rpc.BadRequest detail saying which field
        ([INFERRED]: grpc-gateway's way; the documented example's `details` is empty)."""
        violation = {"field": field, "description": problem}
        detail = {"@type": BAD_REQUEST_TYPE, "fieldViolations": [violation]}
        return self.grpc(400, 3, "Invalid request parameters", [detail])

    @staticmethod
    def failure(status: int, message: str, code: str, detail: str) -> Response:
        return Response(
            status,
            {"success": False, "message": message, "error": {"code": code, "message": detail}},
        )

    def envelope_error(self, status: int) -> Response:
        return self.failure(status, *ENVELOPE_ERRORS[status])

    def not_found(self, message: str, detail: str) -> Response:
        return self.failure(404, message, "NOT_FOUND", detail)

    def error_response(self, status: int, code: str, message: str, **extra) -> Response:
        if status == 400:
            return self.invalid(message, extra.get("field", ""))
        if status == 401:
            return self.grpc(401, 16, "API key is missing or invalid")
        if status in ENVELOPE_ERRORS:
            return self.envelope_error(status)
        return self.failure(status, message, code.upper(), message)

    def sandbox_error(self, error: SandboxError) -> Response:
        # ravan.md §2.4 (all [INFERRED]) and §2.6 for a number not held.
        kind = error.kind
        if kind in (SandboxError.NUMBER_UNAVAILABLE, SandboxError.NOT_IN_INVENTORY):
            return self.grpc(409, 6, f"phone {error.message}")  # "phone number +1… is …"
        if kind == SandboxError.PRICE_MISMATCH:
            return self.grpc(
                400, 9, f"price mismatch: current price is {amount(error.details['current'])}"
            )
        if kind == SandboxError.INSUFFICIENT_FUNDS:
            return self.failure(
                402, "Insufficient credits", "INSUFFICIENT_CREDITS", _credits(error)
            )
        if kind == SandboxError.REGION_NOT_ALLOWED:
            return self.failure(403, "Region not allowed", "REGION_NOT_ALLOWED", error.message)
        if kind == SandboxError.NOT_OWNED:
            return self.not_found("Phone number not found", error.message)
        return self.invalid(error.message, "phone_number")

    def fault_response(self, status: int) -> Response:
        if status == 429:  # [INFERRED] §4: gRPC RESOURCE_EXHAUSTED
            response = self.grpc(429, 8, "rate limit exceeded")
            response.headers["Retry-After"] = "1"
            return response
        return self.error_response(status, f"http_{status}", "injected sandbox fault")

    # --- rendering ------------------------------------------------------------------------

    def purchased_number(self, account: dict, record: dict) -> dict:
        """§3's PurchasedNumber for a state record."""
        block = _block_of(record["e164"])
        seed = _digest(account["account_id"], record["id"])
        return {
            "id": _number_id(record),
            "telephony_id": _uuid7(iso(self.state.anchor), account["account_id"], "telephony"),
            "subscription_id": f"sub_{int.from_bytes(seed[:5]) % 10**10:010d}",
            "inbound_trunk_id": f"trk_inb_{seed[5:8].hex()}",
            "outbound_trunk_id": f"trk_out_{seed[8:11].hex()}",
            "number": record["e164"],
            "friendly_name": record["label"],
            "per_minute_price_inbound": amount(block.per_minute_inbound),
            "per_minute_price_outbound": amount(block.per_minute_outbound),
            "price": amount(record["monthly_fee"]),
            "region": record["region"],
            "iso_country": record["country"],
            "is_active": record["status"] == "active",
            "created_at": record["purchased_at"] or record["updated_at"],
            "updated_at": record["updated_at"],
            "next_renewal_at": _next_renewal(record),
        }

    def find_by_id(self, account: dict, number_id: str) -> dict:
        wanted = number_id.lower()
        found, _ = self.state.owned_page(account, 0, 1, where=lambda r: _number_id(r) == wanted)
        if not found:
            raise Reject(
                self.not_found("Phone number not found", f"No purchased number {number_id}")
            )
        return self.purchased_number(account, found[0])

    def echoed(self, body: dict, field: str, *, required: bool = False) -> Decimal | None:
        value = body.get(field)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise Reject(self.invalid(f"{field} must be a number", field))
        return Decimal(value)

    def check_per_minute_prices(self, e164: str, body: dict) -> None:
        """§2.4: the client echoes the per-minute prices it was quoted; a stale one is
        refused like a stale `price` ([INFERRED], as the monthly price)."""
        inbound = self.echoed(body, "per_minute_price_inbound")
        outbound = self.echoed(body, "per_minute_price_outbound")
        if not any(
            r["e164"] == e164 for r in self.state.search_inventory(self.slug, contains=e164)
        ):
            return  # not for sale: the purchase itself says why
        block = _block_of(e164)
        for label, echoed, current in (
            ("inbound", inbound, block.per_minute_inbound),
            ("outbound", outbound, block.per_minute_outbound),
        ):
            if echoed is not None and echoed != Decimal(current):
                raise Reject(
                    self.grpc(
                        400,
                        9,
                        f"price mismatch: current per-minute {label} price is {amount(current)}",
                    )
                )

    def calls(self, account: dict) -> list[dict]:
        """Deterministic call records for the account's numbers (§5.10), newest first: for
        an account whose world holds none of its own (see simulator_calls)."""
        anchor = self.state.anchor
        calls = []
        for record in self.state.owned_numbers(account):
            rng = random.Random(f"{self.state.seed}:{record['e164']}:calls")
            block = _block_of(record["e164"])
            for index in range(rng.randint(0, 3)):
                calls.append(_call(account, record["e164"], block, rng, anchor, index))
        return sorted(calls, key=lambda call: call["started_at"], reverse=True)


def _call(account, e164, block: NumberBlock, rng, anchor: datetime, index: int) -> dict:
    inbound = rng.random() < 0.5
    area, line = rng.randint(200, 999), rng.randint(2_000_000, 9_999_999)
    other = f"+1{area}{line}"  # a caller or callee outside the account
    duration = rng.randint(15, 900)
    minutes = Decimal(duration) / 60
    rate = Decimal(block.per_minute_inbound if inbound else block.per_minute_outbound)
    provider = (rate * minutes).quantize(PRICE_QUANTUM)
    model = (AGENT_PRICE_PER_MINUTE * minutes).quantize(PRICE_QUANTUM)
    started = anchor - timedelta(minutes=rng.randint(1, 30 * 24 * 60))
    return {
        "id": _uuid7(iso(started), account["account_id"], e164, index),
        "organization_id": account["account_id"],
        "caller_number": other if inbound else e164,
        "callee_number": e164 if inbound else other,
        "channel": "voice",
        "status": "completed",
        "duration_sec": duration,
        "provider_credits": provider,
        "model_credits": model,
        "cost_total": provider + model,
        "started_at": iso(started),
        "ended_at": iso(started + timedelta(seconds=duration)),
    }


def _session(call: dict) -> dict:
    return {
        **{key: call[key] for key in ("id", "organization_id", "caller_number", "callee_number")},
        **{key: call[key] for key in ("channel", "status", "duration_sec")},
        "recording_url": None,
        "cost_total": amount(call["cost_total"]),
        "started_at": call["started_at"],
        "ended_at": call["ended_at"],
    }


def _history_call(call: dict) -> dict:
    return {
        **{key: call[key] for key in ("id", "caller_number", "callee_number", "status")},
        "duration_sec": call["duration_sec"],
        "cost_total": str(amount(call["cost_total"])),  # a string here (§2.8)
        "twilio_cost": amount(call["provider_credits"]),
        "model_cost": amount(call["model_credits"]),
        "credit_breakdown": {
            "model_credits": amount(call["model_credits"]),
            "provider_credits": amount(call["provider_credits"]),
        },
        "started_at": call["started_at"],
        "ended_at": call["ended_at"],
    }


def _next_renewal(record: dict) -> str:
    """The number's first renewal from now: its purchase + n * 28 days, n ≥ 1."""
    bought = datetime.fromisoformat(record["purchased_at"] or record["updated_at"])
    periods = max((datetime.now(UTC) - bought) // RENEWAL_PERIOD + 1, 1)
    return iso(bought + periods * RENEWAL_PERIOD)


def _camel_offer(record: dict) -> dict:
    """§2.3's published example item."""
    block = _block_of(record["e164"])
    return {
        "isoCountry": record["country"],
        "phoneNumber": record["e164"],
        "price": amount(record["monthly_fee"]),
        "perMinutePriceOutbound": amount(block.per_minute_outbound),
        "perMinutePriceInbound": amount(block.per_minute_inbound),
        "telephonyType": "",  # the default (managed) telephony
    }


def _snake_offer(record: dict) -> dict:
    """§2.3: the OpenAPI `PhoneNumber` schema's spelling of the same item."""
    block = _block_of(record["e164"])
    return {
        "iso_country": record["country"],
        "phone_number": record["e164"],
        "price": amount(record["monthly_fee"]),
        "per_minute_price_outbound": amount(block.per_minute_outbound),
        "per_minute_price_inbound": amount(block.per_minute_inbound),
    }


def _listed(record: dict, request: Request) -> bool:
    """§2.1's filters: region, iso_country, is_active."""
    region = request.arg("region")
    country = request.arg("iso_country")
    active = request.arg("is_active")
    if active not in (None, "", "true", "false"):
        raise ValueError("is_active must be true or false")
    return (
        (not region or record["region"].lower() == region.lower())
        and (not country or record["country"] == country.upper())
        and (active in (None, "") or (record["status"] == "active") == (active == "true"))
    )


def _credits(error: SandboxError) -> str:
    balance, charge = error.details["balance"], error.details["charge"]
    return f"Available credits {amount(balance)} are below the price {amount(charge)}"


def _wants(request: Request, variant: str) -> bool:
    """Whether the request asks for one of the switches of the module docstring."""
    asked = request.headers.get("x-sandbox-variant", "").split(",")
    return variant in {part.strip() for part in asked}


def _positive(value: int, name: str) -> int:
    if value < 1:
        raise ValueError(f"{name} must be at least 1")
    return value


def _page(request: Request) -> tuple[int, int]:
    """§2.8's page/page_size (page_size at most 100)."""
    page = _positive(request.int_arg("page", 1), "page")
    return page, min(_positive(request.int_arg("page_size", 20), "page_size"), MAX_PAGE_SIZE)
