"""The TryVox API as the sandbox serves it (reference: ../shared/providers/tryvox.md).

Documented: Bearer keys, `/v1/account/{account_id}/numbers` with the `pagination` object,
`purchase-from-inventory` with `{e164, country}` and a bare number object back, release with
its preview, cooling-off and early termination fee, and the `{"error": {code, message,
details}}` body. [INFERRED] (no public page, served so the portal has a complete API): get one
number, the inventory listing, the balance, the ledger, the opt-in label PATCH, the error
codes of 402/403/409, and a purchase body with any field besides `e164` and `country`
refused with 400, as a strict API refuses what it does not document.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from portal.providers.sandbox.http import Request, Response, Router, page_slice
from portal.providers.sandbox.simulated import Reject, SandboxProvider
from portal.providers.sandbox.state import CatalogEntry, SandboxError, iso, money
from portal.providers.tryvox.simulator_calls import TryVoxCallRecords

CURRENCY = "USD"  # tryvox.md §3.1: every amount is USD, Indian numbers included
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
NUMBER_STATUSES = ("active", "pending", "suspended", "released")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
COUNTRY = re.compile(r"[A-Za-z]{2}")
# tryvox.md §2.4 (seed 004): everything a purchase body may hold.
PURCHASE_FIELDS = ("e164", "country")
# tryvox.md §2.6 and §5.8: $25.00 for a number held less than three months; 30 days cooling-off.
EARLY_TERMINATION_FEE = Decimal("25.00")
EARLY_TERMINATION_DAYS = 90
COOLING_OFF_DAYS = 30
ETF_DESCRIPTION = "Early termination fee"
ETF_REFUND_DESCRIPTION = "Early termination fee refund"
# Where this module's part of the state (`SandboxState.extension`) keeps the released numbers
# waiting out their cooling-off.
COOLING_OFF_KEY = "cooling_off"

# tryvox.md §2.9: the documented codes, plus [INFERRED] ones for statuses the table lacks.
FAULT_CODES = {
    429: ("RATE_LIMITED", "Too many requests"),
    500: ("INTERNAL_ERROR", "Internal server error"),
    502: ("DELIVERY_FAILED", "Upstream channel failed"),
    503: ("SERVICE_UNAVAILABLE", "Service temporarily unavailable"),
}
# The generic codes the shared router uses, in TryVox's upper-case vocabulary.
ROUTER_CODES = {
    "not_found": "NOT_FOUND",
    "method_not_allowed": "METHOD_NOT_ALLOWED",
    "not_implemented": "NOT_IMPLEMENTED",
    "invalid_json": "VALIDATION_FAILED",
    "invalid_request": "VALIDATION_FAILED",
}
# tryvox.md §2.8 [INFERRED] ledger categories for the state's provider-neutral kinds.
CATEGORY_BY_KIND = {
    "credit": "top_up",
    "usage": "call",
    "recurring": "number_monthly",
    "debit": "number_setup",
}
CATEGORY_BY_DESCRIPTION = {
    ETF_DESCRIPTION: "early_termination",
    ETF_REFUND_DESCRIPTION: "refund",
}

# tryvox.md §2.4: the statuses of a refused purchase are seed 004's; the codes are [INFERRED]
# (TryVox's code table has none for 402/409). A country the account may not buy in is
# [INFERRED] 403: "key valid but not allowed", told apart from a foreign path by its code.
REFUSALS = {
    SandboxError.INVALID_NUMBER: (400, "VALIDATION_FAILED"),
    SandboxError.NOT_IN_INVENTORY: (404, "NOT_FOUND"),
    SandboxError.NOT_OWNED: (404, "NOT_FOUND"),
    SandboxError.NUMBER_UNAVAILABLE: (409, "NUMBER_UNAVAILABLE"),
    SandboxError.INSUFFICIENT_FUNDS: (402, "INSUFFICIENT_BALANCE"),
    SandboxError.REGION_NOT_ALLOWED: (403, "REGION_NOT_ALLOWED"),
}
# The message and `details` of the refusals whose example bodies tryvox.md §2.4 gives.
REFUSAL_TEXT = {
    SandboxError.NOT_IN_INVENTORY: lambda error: ("Number not found in available inventory", []),
    SandboxError.INSUFFICIENT_FUNDS: lambda error: (
        "Insufficient account balance",
        [
            {
                "field": "balance",
                "reason": f"required {_amount(error.details['charge'])} {CURRENCY}, "
                f"available {_amount(error.details['balance'])} {CURRENCY}",
            }
        ],
    ),
    # The purchase handler has checked the E.164 format, so what the state still calls an
    # invalid number is a country that is not the number's ([INFERRED] check).
    SandboxError.INVALID_NUMBER: lambda error: (
        "Request validation failed",
        [{"field": "country", "reason": error.message}],
    ),
}

ACCOUNT = r"/v1/account/(?P<account_id>[^/]+)"
VOICE_ACCOUNT = r"/v1/voice/accounts/(?P<auth_id>[^/]+)"
NUMBER = ACCOUNT + r"/numbers/(?P<e164>[^/]+)"


class TryVoxSandbox(TryVoxCallRecords, SandboxProvider):
    slug = "tryvox"
    api_path = "/v1"
    # tryvox.md §5.4: the documented example prices, all in USD.
    catalog = (
        CatalogEntry("US", "CA", "+1415", 7, "local", setup_fee="0.00", monthly_fee="1.25"),
        CatalogEntry(
            "IN", "Maharashtra", "+9198", 8, "local", setup_fee="0.00", monthly_fee="2.50"
        ),
        CatalogEntry(
            "US",
            "",
            "+1888",
            7,
            "toll_free",
            setup_fee="1.00",
            monthly_fee="2.00",
            capabilities=("voice",),
        ),
    )

    def add_routes(self, router: Router) -> None:
        router.add("GET", ACCOUNT + r"/numbers", self.list_numbers)
        router.add("POST", ACCOUNT + r"/numbers/purchase-from-inventory", self.purchase)
        router.add("GET", NUMBER, self.get_number)
        router.add("PATCH", NUMBER, self.set_label)
        router.add("DELETE", NUMBER, self.release)
        router.add("GET", NUMBER + r"/release-preview", self.release_preview)
        router.add("POST", NUMBER + r"/cancel-release", self.cancel_release)
        router.add("GET", ACCOUNT + r"/inventory/numbers", self.list_inventory)
        router.add("GET", ACCOUNT + r"/balance", self.balance)
        router.add("GET", ACCOUNT + r"/transactions", self.transactions)
        # tryvox.md §2.8, §6.2: calls live under another account path.
        router.add("GET", VOICE_ACCOUNT + r"/calls", self.list_calls)
        router.add("GET", VOICE_ACCOUNT + r"/calls/(?P<call_uuid>[^/]+)", self.get_call)

    # --- errors ---------------------------------------------------------------------------

    def error_response(self, status: int, code: str, message: str, **extra) -> Response:
        error = {"code": ROUTER_CODES.get(code, code), "message": message}
        if extra.get("details"):
            error["details"] = extra["details"]
        return Response(status, {"error": error})

    def fault_response(self, status: int) -> Response:
        code, message = FAULT_CODES.get(status, ("INTERNAL_ERROR", "Internal server error"))
        response = self.error_response(status, code, message)
        if status == 429:
            response.headers["Retry-After"] = "1"  # tryvox.md §4 [INFERRED]: seconds
        return response

    def sandbox_error(self, error: SandboxError) -> Response:
        status, code = REFUSALS[error.kind]
        message, details = REFUSAL_TEXT.get(error.kind, _own_message)(error)
        return self.error_response(status, code, message, details=details)

    def _validation_failed(self, details: list[dict]) -> Response:
        return self.error_response(
            400, "VALIDATION_FAILED", "Request validation failed", details=details
        )

    # --- authentication (tryvox.md §1, §5.1) ----------------------------------------------

    def _account(self, request: Request, account_id: str) -> dict:
        caller = self._caller(request)
        if caller is None:
            raise Reject(self.error_response(401, "UNAUTHORIZED", "Invalid or missing API key"))
        if caller["account_id"] != account_id:
            raise Reject(
                self.error_response(
                    403, "FORBIDDEN", "This API key does not have access to this account"
                )
            )
        return caller

    def _caller(self, request: Request) -> dict | None:
        """The account of a Bearer key, or of Basic `account_id:token` ([3P] clients)."""
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and credentials:
            return self.state.account_by_secret(self.slug, credentials)
        if scheme.lower() == "basic" and credentials:
            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            account_id, _, token = decoded.partition(":")
            account = self.state.account(self.slug, account_id)
            if account and hmac.compare_digest(account["secret"].encode(), token.encode()):
                return account
        return None

    # --- numbers --------------------------------------------------------------------------

    def list_numbers(self, request: Request, account_id: str) -> Response:
        account = self._account(request, account_id)
        status = request.arg("status") or ""
        if status and status not in NUMBER_STATUSES:
            raise Reject(
                self._validation_failed(
                    [{"field": "status", "reason": f"must be one of {', '.join(NUMBER_STATUSES)}"}]
                )
            )
        page, per_page = self._paging(request)
        # Released numbers only when asked for ([INFERRED] §2.1).
        records, total = self.state.owned_page(
            account,
            (page - 1) * per_page,
            per_page,
            include_released=bool(status),
            status=status or None,
            country=request.arg("country") or None,
        )
        return self._page(request, [_number(r) for r in records], total, page, per_page)

    def get_number(self, request: Request, account_id: str, e164: str) -> Response:
        account = self._account(request, account_id)
        return Response(200, _number(self._owned(account, e164)))

    def _owned(self, account: dict, e164: str) -> dict:
        try:
            return self.state.owned_number(account, e164)
        except SandboxError as exc:
            # tryvox.md §2.2 [INFERRED] 404 body
            raise Reject(
                self.error_response(404, "NOT_FOUND", f"Number {e164} not found in this account")
            ) from exc

    def set_label(self, request: Request, account_id: str, e164: str) -> Response:
        """tryvox.md §2.5 [INFERRED, opt-in]: sandbox only; the real API has no labels."""
        account = self._account(request, account_id)
        body = request.json()
        label = body.get("label") if isinstance(body, dict) else None
        if not isinstance(label, str) or len(label) > 255:
            raise Reject(
                self._validation_failed([{"field": "label", "reason": "must be text (max 255)"}])
            )
        self._owned(account, e164)
        record = self.state.set_label(account, e164, label)
        return Response(200, {**_number(record), "label": record["label"]})

    def purchase(self, request: Request, account_id: str) -> Response:
        account = self._account(request, account_id)
        body = request.json()
        if not isinstance(body, dict):
            raise Reject(
                self._validation_failed([{"field": "body", "reason": "must be a JSON object"}])
            )
        e164, country = body.get("e164"), body.get("country")
        problems = []
        if not isinstance(e164, str) or not E164.fullmatch(e164):
            problems.append({"field": "e164", "reason": "must be E.164 format"})
        if not isinstance(country, str) or not COUNTRY.fullmatch(country):
            problems.append({"field": "country", "reason": "must be an ISO 3166-1 alpha-2 code"})
        problems += [
            {"field": field, "reason": "is not a field of this request"}
            for field in body
            if field not in PURCHASE_FIELDS
        ]
        if problems:
            raise Reject(self._validation_failed(problems))
        self._end_cooling_off()
        # No price is held: TryVox charges the number's current fees (seed 004).
        record = self.state.buy(account, e164, country=country.upper())
        # tryvox.md §2.4: the bare number object, always active, routing cleared.
        return Response(200, _number(record))

    # --- release (tryvox.md §2.6) --------------------------------------------------------

    def release_preview(self, request: Request, account_id: str, e164: str) -> Response:
        account = self._account(request, account_id)
        return Response(200, _release_terms(self._owned(account, e164)))

    def release(self, request: Request, account_id: str, e164: str) -> Response:
        account = self._account(request, account_id)
        with self.state.lock:
            terms = _release_terms(self._owned(account, e164))
            if not terms["can_release"]:
                raise Reject(
                    self.error_response(409, "CONFLICT", f"Number {e164} cannot be released now")
                )
            # tryvox.md §2.6: a released number is offered to nobody for 30 days; buying it
            # meanwhile answers 409 (the state calls a held-back number unavailable).
            record = self.state.release(account, e164, on_sale=False)
            available_after = _parse(record["released_at"]) + timedelta(days=COOLING_OFF_DAYS)
            fee = terms["early_termination_fee"]
            self._cooling_off()[e164] = {
                "account_id": account["account_id"],
                "available_after": iso(available_after),
                "early_termination_fee": money(fee),
            }
            self.state.save()
            if fee:
                self.state.post_transaction(account, "debit", fee, ETF_DESCRIPTION, e164)
        return Response(
            200,
            {
                "e164": e164,
                "status": "released",
                "released_at": _timestamp(record["released_at"]),
                "early_termination_fee": fee,
                "currency": CURRENCY,
                "cooling_off_period_days": COOLING_OFF_DAYS,
                "available_after": _timestamp(iso(available_after)),
            },
        )

    def cancel_release(self, request: Request, account_id: str, e164: str) -> Response:
        """[INFERRED] tryvox.md §2.6: within the cooling-off the number comes back active and
        the early termination fee is refunded; afterwards 409 CONFLICT."""
        account = self._account(request, account_id)
        with self.state.lock:
            try:
                record = self.state.owned_number(account, e164, include_released=True)
            except SandboxError:
                record = None
            if record is None or record["status"] != "released":
                raise Reject(
                    self.error_response(
                        404, "NOT_FOUND", f"Number {e164} has no pending release on this account"
                    )
                )
            waiting = self._cooling_off().get(e164)
            if waiting is None or _parse(waiting["available_after"]) <= _now():
                raise Reject(self.error_response(409, "CONFLICT", "Cooling-off period has ended"))
            del self._cooling_off()[e164]
            record = self.state.reinstate(account, e164)
            fee = Decimal(waiting["early_termination_fee"])
            if fee:
                self.state.post_transaction(account, "credit", fee, ETF_REFUND_DESCRIPTION, e164)
            return Response(200, _number(record))

    def _cooling_off(self) -> dict:
        """Released numbers held back from sale: E.164 → account, end, fee charged."""
        return self.state.extension(self.slug).setdefault(COOLING_OFF_KEY, {})

    def _end_cooling_off(self):
        """Numbers whose cooling-off has passed go back on sale."""
        with self.state.lock:
            waiting = self._cooling_off()
            ended = [e164 for e164, w in waiting.items() if _parse(w["available_after"]) <= _now()]
            for e164 in ended:
                entry = waiting.pop(e164)
                self.state.put_on_sale(self.state.account(self.slug, entry["account_id"]), e164)

    # --- inventory, balance, ledger (tryvox.md §2.3, §2.7, §2.8: all [INFERRED]) ----------

    def list_inventory(self, request: Request, account_id: str) -> Response:
        self._account(request, account_id)
        page, per_page = self._paging(request)
        self._end_cooling_off()
        records, total = self.state.inventory_page(
            self.slug,
            (page - 1) * per_page,
            per_page,
            country=request.arg("country") or "",
            region=request.arg("region") or "",
            contains=request.arg("contains") or "",
            number_type=request.arg("type") or "",
        )
        return self._page(request, [_offer(r) for r in records], total, page, per_page)

    def balance(self, request: Request, account_id: str) -> Response:
        account = self._account(request, account_id)
        return Response(
            200,
            {
                "account_id": account["account_id"],
                "balance": self.state.balance(account).quantize(Decimal("0.0001")),
                "currency": account["currency"],
                "updated_at": _timestamp(iso(_now())),
            },
        )

    def transactions(self, request: Request, account_id: str) -> Response:
        account = self._account(request, account_id)
        page, per_page = self._paging(request)
        kind = request.arg("type") or ""
        start, end = request.arg("from") or "", request.arg("to") or ""
        rows = [
            row
            for row in map(_ledger_row, self.state.transactions(account))
            if (not kind or row["type"] == kind)
            and (not start or row["created_at"][:10] >= start[:10])
            and (not end or row["created_at"][:10] <= end[:10])
        ]
        start = (page - 1) * per_page
        return self._page(request, rows[start : start + per_page], len(rows), page, per_page)

    # --- paging (tryvox.md §2.1) ----------------------------------------------------------

    def _paging(self, request: Request) -> tuple[int, int]:
        """[INFERRED] §2.1: page < 1 or per_page outside 1..100 is 400 VALIDATION_FAILED."""
        page = self._positive(request, "page", 1, None)
        per_page = self._positive(request, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
        return page, per_page

    def _positive(self, request: Request, name: str, default: int, maximum: int | None) -> int:
        try:
            value = request.int_arg(name, default)
        except ValueError:
            value = 0
        if value < 1 or (maximum is not None and value > maximum):
            limit = f"between 1 and {maximum}" if maximum else "at least 1"
            raise Reject(
                self._validation_failed([{"field": name, "reason": f"must be an integer {limit}"}])
            )
        return value

    @staticmethod
    def _page(request: Request, items: list, total: int, page: int, per_page: int) -> Response:
        """The documented envelope around one page of `total` items; a page past the end
        is empty with the right totals. `count` is what the page claims to hold."""
        return Response(
            200,
            {
                "data": page_slice(items, short_page=request.short_page),
                "pagination": {
                    "total": total,
                    "count": len(items),
                    "per_page": per_page,
                    "current_page": page,
                    # Laravel/Fractal, whose shape this is, never says fewer than one page.
                    "total_pages": max(1, math.ceil(total / per_page)),
                },
            },
        )


# --- rendering ------------------------------------------------------------------------------


def _number(record: dict) -> dict:
    """tryvox.md §3: the number object. No id (E.164 is the key), no label, USD amounts."""
    rendered = {
        **_offer(record),
        "status": record["status"],
        "trunk_id": None,
        "application_id": None,
        "created_at": _timestamp(record["purchased_at"]),
        "updated_at": _timestamp(record["updated_at"]),
    }
    if record["status"] == "released":
        rendered["released_at"] = _timestamp(record["released_at"])
    return rendered


def _offer(record: dict) -> dict:
    """tryvox.md §2.3: an inventory item is the number object without routing fields."""
    return {
        "e164": record["e164"],
        "country": record["country"],
        "type": record["type"],
        "region": record["region"],
        "status": record["status"],
        "capabilities": list(record["capabilities"]),
        "monthly_fee": _amount(record["monthly_fee"]),
        "setup_fee": _amount(record["setup_fee"]),
        "currency": CURRENCY,
    }


def _early_termination_fee(record: dict) -> Decimal:
    purchased = _parse(record["purchased_at"])
    if purchased and _now() - purchased < timedelta(days=EARLY_TERMINATION_DAYS):
        return EARLY_TERMINATION_FEE
    return Decimal("0.00")


def _release_terms(record: dict) -> dict:
    """tryvox.md §2.6 preview: the fee, and whether the number may go (only when active)."""
    fee = _early_termination_fee(record)
    warnings = []
    if fee:
        warnings.append(
            f"Purchased less than 3 months ago: early termination fee of ${fee} applies"
        )
    return {
        "e164": record["e164"],
        "can_release": record["status"] == "active",
        "early_termination_fee": fee,
        "currency": CURRENCY,
        "cooling_off_period_days": COOLING_OFF_DAYS,
        "warnings": warnings,
    }


def _ledger_row(row: dict) -> dict:
    """tryvox.md §2.8 [INFERRED] ledger row: `type` debit/credit, `amount` a magnitude.
    (`balance_after` is left out: tests set balances without a ledger row, after which a
    running balance would no longer add up.)"""
    return {
        "id": row["id"],
        "type": "credit" if row["kind"] == "credit" else "debit",
        "category": CATEGORY_BY_DESCRIPTION.get(
            row["description"], CATEGORY_BY_KIND.get(row["kind"], "call")
        ),
        "amount": _amount(row["amount"]),
        "currency": row["currency"],
        "e164": row["e164"] or None,
        "description": row["description"],
        "created_at": _timestamp(row["created_at"]),
    }


def _own_message(error: SandboxError) -> tuple[str, list]:
    return error.message, []


def _amount(value) -> Decimal:
    """Dollars as TryVox writes them: two decimals (2.50, 25.00), four when needed (0.0085)."""
    amount = Decimal(value)
    cents = amount.quantize(Decimal("0.01"))
    return cents if cents == amount else amount.normalize()


def _timestamp(value: str | None) -> str | None:
    """ISO 8601 to the second, as TryVox's examples write it (2026-04-09T10:30:00Z)."""
    parsed = _parse(value)
    return None if parsed is None else iso(parsed.replace(microsecond=0))


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _now() -> datetime:
    return datetime.now(UTC)
