"""Vobiz, simulated: the numbers, inventory, purchase, release, balance and transaction
endpoints of `shared/providers/vobiz.md` under `/vobiz/api/v1`.

Documented behaviour: `X-Auth-ID` + `X-Auth-Token` (or a Bearer token, §1) checked per
account, 401 for missing or wrong credentials and 403 for another account's path; singular
paths in `Account` or `account` casing (§1.1); E.164 in a path `%2B`-encoded, literal or
without its "+" (§5.2); page/per_page listings (max 100) with `total`, and limit/offset on the
owned list and the ledger (§2.1, §2.8); the flat `{"error", "message"}` bodies of the number
endpoints and the generic `{"status": "error", "error": {"code", …}}` envelope (§3).

[INFERRED] choices, where the reference documents nothing:
- insufficient balance answers the errors page's 402 `INSUFFICIENT_BALANCE`; the number
  pages' 500 "failed to purchase number from provider" (§2.4, §5.6) is sent instead when a
  request carries `X-Sandbox-Vobiz-Insufficient-Balance: 500`;
- a country the account may not buy in: 403 envelope `REGION_NOT_ALLOWED`; a malformed
  number: 400 `{"error": "invalid number"}`; another account's path: 403 envelope
  `PERMISSION_DENIED`; a balance in a currency the account does not hold: 404 envelope
  `BALANCE_NOT_FOUND`; 429: envelope `RATE_LIMIT_EXCEEDED` with `Retry-After`;
- release is immediate and answers 204 (the [DOCS] form of §2.6), never a cooldown;
- `GET …/numbers/{e164}` (one number) and `PATCH …/numbers/{e164}` `{"tags": [...]}` (the
  simulator's tag writer, §2.2, §2.5); a number's `tags` show its sandbox label;
- the ledger is served newest first; every amount is in the account's one currency, which
  is what the sandbox's single balance holds, and a rental's description names its number;
- under the `short-page` fault, a page/per_page listing comes from a server whose real page
  size is one less than the `per_page` it echoes, so a client paging by `total` still gets
  everything; a limit/offset page is cut as every provider's is (`page_slice`).
"""

from __future__ import annotations

import hmac
import math
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus

from portal.providers.sandbox.faults import RETRY_AFTER_SECONDS
from portal.providers.sandbox.http import Request, Response, Router, page_slice
from portal.providers.sandbox.simulated import Reject, SandboxProvider
from portal.providers.sandbox.state import CatalogEntry, SandboxError, iso
from portal.providers.vobiz.simulator_calls import VobizCallRecords

# §1: every path is under /api/v1; §1.1: singular `Account` and `account` both route here.
ACCOUNT = r"/api/v1/(?:Account|account)/(?P<auth_id>[^/]+)"
NUMBER = r"(?P<e164>[^/]+)"

DEFAULT_PAGE_SIZE = 25  # §2.1, §2.3
DEFAULT_OFFSET_LIMIT = 20  # §2.1: the limit/offset form of the owned list
DEFAULT_LEDGER_LIMIT = 50  # §2.8
MAX_PAGE_SIZE = 100

CAPABILITY_KEYS = ("voice", "sms", "mms", "fax")
# The sandbox state's statuses → Vobiz's (§2.1); inventory numbers read "active" (§2.3).
STATUSES = {"available": "active", "active": "active", "released": "released"}
DEBIT_FAILURE_HEADER = "x-sandbox-vobiz-insufficient-balance"

# SandboxError → the flat body of the number endpoints (§2.4, §2.6); None: the error's text.
FLAT_REFUSALS = {
    SandboxError.NUMBER_UNAVAILABLE: (404, "not found", "number not found in inventory"),
    SandboxError.NOT_IN_INVENTORY: (404, "not found", "number not found in inventory"),
    SandboxError.NOT_OWNED: (403, "forbidden", "account does not own this number"),
    SandboxError.INVALID_NUMBER: (400, "invalid number", None),
}
# SandboxError → the generic envelope (§3).
ENVELOPE_REFUSALS = {
    SandboxError.INSUFFICIENT_FUNDS: (402, "INSUFFICIENT_BALANCE"),
    SandboxError.REGION_NOT_ALLOWED: (403, "REGION_NOT_ALLOWED"),
}

# §2.8: what each ledger kind of the sandbox state is, in Vobiz's `type` + `reference_type`.
LEDGER_TYPES = {
    "usage": ("debit", "cdr"),
    "recurring": ("debit", "did_rental"),
    "debit": ("debit", "did_rental"),  # a setup fee: §4 books it as did_rental too
}
# Credits spread over the documented credit reference types, with fitting descriptions.
CREDIT_REFERENCES = (
    ("payment", "Top-up"),
    ("payment", "Top-up"),
    ("refund", "Refund"),
    ("manual_adjustment", "Manual adjustment"),
)


def amount(value) -> Decimal:
    """A state amount ("300.0000") as Vobiz writes it: 300, 0.9, 0.0085 (§4)."""
    exact = Decimal(value).normalize()
    return exact.quantize(Decimal(1)) if exact.as_tuple().exponent > 0 else exact


def e164_from_path(segment: str) -> str:
    # §5.2: "%2B91…" (already decoded to "+91…"), a literal "+91…", or "91…" without it.
    segment = segment.strip()
    return segment if segment.startswith("+") else f"+{segment}"


class VobizSandbox(VobizCallRecords, SandboxProvider):
    slug = "vobiz"
    amount = staticmethod(amount)

    def __init__(self, state):
        super().__init__(state)
        self._ledger_cache: dict[str, tuple] = {}

    api_path = "/api/v1"
    # Indian numbers in INR, seeded per number from these blocks (§4; the fees are the
    # published examples'). The prefixes are real ranges, so each number's type follows
    # from the number itself as it does for the real service.
    catalog = (
        CatalogEntry("IN", "Karnataka", "+91802", 7, "local", "100", "300", ("voice",)),
        CatalogEntry("IN", "Maharashtra", "+91222", 7, "local", "100", "200", ("voice",)),
        CatalogEntry("IN", "Karnataka", "+919", 9, "mobile", "100", "250", ("voice", "sms")),
        CatalogEntry("IN", "", "+911800", 7, "toll_free", "500", "1000", ("voice",)),
    )

    def add_routes(self, router: Router) -> None:
        router.add("GET", f"{ACCOUNT}/numbers", self.list_numbers)
        router.add("POST", f"{ACCOUNT}/numbers/purchase-from-inventory", self.purchase)
        router.add("GET", f"{ACCOUNT}/numbers/{NUMBER}", self.number_detail)
        router.add("PATCH", f"{ACCOUNT}/numbers/{NUMBER}", self.update_tags)
        router.add("DELETE", f"{ACCOUNT}/numbers/{NUMBER}", self.release)
        router.add("GET", f"{ACCOUNT}/inventory/numbers", self.inventory)
        router.add("GET", f"{ACCOUNT}/balance/(?P<currency>[^/]+)", self.balance)
        router.add("GET", f"{ACCOUNT}/transactions", self.transactions)
        router.add("GET", f"{ACCOUNT}/cdr", self.cdr)

    # --- error bodies -------------------------------------------------------------------

    def error_response(self, status: int, code: str, message: str, **extra) -> Response:
        # §3: the number endpoints' flat shape, `error` in words ("not found", "forbidden").
        return Response(status, {"error": HTTPStatus(status).phrase.lower(), "message": message})

    @staticmethod
    def flat(status: int, error: str, message: str) -> Response:
        return Response(status, {"error": error, "message": message})

    @staticmethod
    def envelope(status: int, code: str, message: str, **details) -> Response:
        """§3: the errors page's generic envelope."""
        error = {"code": code, "message": message}
        if details:
            error["details"] = details
        return Response(
            status,
            {
                "status": "error",
                "error": error,
                "timestamp": iso(datetime.now(UTC)),
                "requestId": f"req_{uuid.uuid4().hex[:12]}",
            },
        )

    def sandbox_error(self, error: SandboxError) -> Response:
        if error.kind in FLAT_REFUSALS:
            status, words, message = FLAT_REFUSALS[error.kind]
            return self.flat(status, words, message or error.message)
        if error.kind in ENVELOPE_REFUSALS:
            status, code = ENVELOPE_REFUSALS[error.kind]
            return self.envelope(status, code, error.message)
        return self.flat(500, "internal server error", error.message)

    def fault_response(self, status: int) -> Response:
        if status == 429:
            response = self.envelope(429, "RATE_LIMIT_EXCEEDED", "Too many requests")
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
            return response
        return self.error_response(status, "", "injected sandbox fault")

    # --- authentication -----------------------------------------------------------------

    def caller(self, request: Request, auth_id: str) -> dict:
        """The account the credentials name, which must be the one in the path (§1)."""
        account = self._credentials_account(request)
        if account is None:
            raise Reject(
                self.envelope(401, "INVALID_CREDENTIALS", "Invalid or missing credentials")
            )
        if account["account_id"] != auth_id:
            raise Reject(
                self.envelope(403, "PERMISSION_DENIED", f"not allowed to access account {auth_id}")
            )
        return account

    def _credentials_account(self, request: Request) -> dict | None:
        auth_id = request.headers.get("x-auth-id", "")
        token = request.headers.get("x-auth-token", "")
        if auth_id and token:
            account = self.state.account(self.slug, auth_id)
            if account and hmac.compare_digest(account["secret"].encode(), token.encode()):
                return account
            return None
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and bearer.strip():
            return self.state.account_by_secret(self.slug, bearer.strip())
        return None

    # --- numbers ------------------------------------------------------------------------

    def list_numbers(self, request: Request, auth_id: str) -> Response:
        account = self.caller(request, auth_id)
        search = (request.arg("search") or "").strip()
        offset_style = "page" not in request.query and (
            "limit" in request.query or "offset" in request.query
        )
        if offset_style:
            start, size, counters = self._offset_window(request, DEFAULT_OFFSET_LIMIT)
        else:
            start, size, counters = self._page_window(request)
        records, total = self.state.owned_page(account, start, size, contains=search or None)
        # A page/per_page window is already as short as the fault makes it.
        records = page_slice(records, short_page=offset_style and request.short_page)
        items = [self.render_number(record, account) for record in records]
        return Response(200, {"items": items, **counters, "total": total})

    def number_detail(self, request: Request, auth_id: str, e164: str) -> Response:
        account = self.caller(request, auth_id)
        try:
            record = self.state.owned_number(account, e164_from_path(e164))
        except SandboxError:
            return self.flat(404, "not found", "number not found")  # §2.2 [INFERRED]
        return Response(200, self.render_number(record, account))

    def update_tags(self, request: Request, auth_id: str, e164: str) -> Response:
        account = self.caller(request, auth_id)
        body = request.json()
        tags = body.get("tags") if isinstance(body, dict) else None
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            return self.flat(400, "bad request", "tags must be a list of strings")
        try:
            record = self.state.set_label(account, e164_from_path(e164), ", ".join(tags))
        except SandboxError:
            return self.flat(404, "not found", "number not found")
        return Response(200, self.render_number(record, account))

    def release(self, request: Request, auth_id: str, e164: str) -> Response:
        account = self.caller(request, auth_id)
        self.state.release(account, e164_from_path(e164))  # not ours: 403 (§2.6)
        return Response(204)

    # --- inventory and purchase ---------------------------------------------------------

    def inventory(self, request: Request, auth_id: str) -> Response:
        account = self.caller(request, auth_id)
        # §2.3: `exclude` drops E.164 prefixes, "+" optional, comma list or repeated.
        excluded = tuple(prefix.strip().lstrip("+") for prefix in request.args("exclude"))
        start, size, counters = self._page_window(request)
        records, total = self.state.inventory_page(
            self.slug,
            start,
            size,
            country=(request.arg("country") or "").strip(),
            contains=(request.arg("search") or "").strip(),
            where=(lambda r: not r["e164"][1:].startswith(excluded)) if excluded else None,
        )
        items = [self.render_offer(r, account) for r in records]
        return Response(200, {"items": items, **counters, "total": total})

    def purchase(self, request: Request, auth_id: str) -> Response:
        account = self.caller(request, auth_id)
        body = request.json()
        number = body.get("e164") if isinstance(body, dict) else None
        if not isinstance(number, str) or not number.strip():
            return self.flat(400, "bad request", "e164 is required")
        currency = body.get("currency", account["currency"])
        if currency != account["currency"]:
            return self.flat(400, "bad request", f"no {currency} balance on this account")
        try:
            record = self.state.buy(account, number.strip())
        except SandboxError as refusal:
            if refusal.kind != SandboxError.INSUFFICIENT_FUNDS:
                raise
            return self._insufficient_balance(request, refusal, account)
        full = self.render_number(record, account) | {"source": "inventory"}
        short_keys = ("id", "account_id", "e164", "country", "region", "capabilities")
        short = {key: full[key] for key in (*short_keys, "status", "monthly_fee", "currency")}
        # Seed 002, current form: the number, and again in short in `items`.
        return Response(
            200, {"message": "Number purchased successfully", "number": full, "items": [short]}
        )

    def _insufficient_balance(self, request, refusal: SandboxError, account) -> Response:
        if request.headers.get(DEBIT_FAILURE_HEADER) == "500":
            return self.flat(
                500, "internal server error", "failed to purchase number from provider"
            )
        return self.envelope(
            402,
            "INSUFFICIENT_BALANCE",
            "Insufficient balance to complete this purchase",
            required=amount(refusal.details["charge"]),
            available=amount(refusal.details["balance"]),
            currency=account["currency"],
        )

    # --- billing ------------------------------------------------------------------------

    def balance(self, request: Request, auth_id: str, currency: str) -> Response:
        account = self.caller(request, auth_id)
        if currency.upper() != account["currency"]:
            return self.envelope(
                404, "BALANCE_NOT_FOUND", f"no {currency.upper()} balance on this account"
            )
        funds = amount(self.state.balance(account))
        created = iso(self.state.anchor)
        return Response(
            200,
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"vobiz:{auth_id}:balance")),
                "account_id": auth_id,
                "currency": account["currency"],
                "balance": funds,
                "reserved_funds": 0,
                "promotional_balance": 0,
                "promotional_reserved_balance": 0,
                "available_balance": funds,
                "credit_limit": 0,
                "is_postpaid": False,
                "credit_limit_type": "hard",
                "low_balance_threshold": 50,
                "status": "active",
                "created_at": created,
                "updated_at": iso(datetime.now(UTC)),
            },
        )

    def transactions(self, request: Request, auth_id: str) -> Response:
        account = self.caller(request, auth_id)
        start, limit, counters = self._offset_window(request, DEFAULT_LEDGER_LIMIT)
        ledger, summary = self._rendered_ledger(account, auth_id)
        return Response(
            200,
            {
                "auth_id": auth_id,
                "total": len(ledger),
                **counters,
                "total_pages": math.ceil(len(ledger) / counters["per_page"]),
                "transactions": page_slice(ledger, start, limit, request.short_page),
                "summary": summary,
            },
        )

    def _rendered_ledger(self, account: dict, auth_id: str) -> tuple[list[dict], dict]:
        """The whole ledger as served, newest first, and its summary (which covers all of it),
        rendered once per change of the ledger rather than once per page, so paging
        through 100,000 rows stays linear."""
        version = self.state.ledger_version(account)
        cached = self._ledger_cache.get(auth_id)
        if cached is None or cached[0] != version:
            rows = reversed(self.state.transactions(account))
            rendered = [self.render_transaction(row, auth_id) for row in rows]
            cached = self._ledger_cache[auth_id] = (version, rendered, self.summary(rendered))
        return cached[1], cached[2]

    @staticmethod
    def summary(ledger: list[dict]) -> dict:
        """§2.8: totals over the whole ledger, and per reference type."""
        groups: dict[str, list[dict]] = {}
        for row in ledger:
            groups.setdefault(row["reference_type"], []).append(row)
        debit, credit = _total(ledger, "debit"), _total(ledger, "credit")
        return {
            "total_transactions": len(ledger),
            "total_debit": debit,
            "total_credit": credit,
            "net_amount": credit - debit,
            "by_reference_type": [
                {
                    "reference_type": reference_type,
                    "total_debit": _total(rows, "debit"),
                    "total_credit": _total(rows, "credit"),
                    "count": len(rows),
                }
                for reference_type, rows in sorted(groups.items())
            ],
        }

    # --- paging -------------------------------------------------------------------------

    @staticmethod
    def _size(request: Request, name: str, default: int) -> int:
        size = request.int_arg(name, default)
        if size < 1:
            raise ValueError(f"{name} must be at least 1")
        return min(size, MAX_PAGE_SIZE)

    def _page_window(self, request: Request) -> tuple[int, int, dict]:
        """Where the requested page starts and how many items it holds. Under the
        short-page fault the server's real page size is one less than the `per_page` it
        echoes, so page 2 starts right after the short page 1: a page-numbered client
        cannot ask again for what `page_slice` would leave out of each page."""
        page = request.int_arg("page", 1)
        if page < 1:
            raise ValueError("page must be at least 1")
        per_page = self._size(request, "per_page", DEFAULT_PAGE_SIZE)
        size = per_page - 1 if request.short_page and per_page > 1 else per_page
        return (page - 1) * size, size, {"page": page, "per_page": per_page}

    def _offset_window(self, request: Request, default: int) -> tuple[int, int, dict]:
        # §5.4: requested by limit/offset, reported in pages.
        limit = self._size(request, "limit", default)
        offset = request.int_arg("offset", 0)
        if offset < 0:
            raise ValueError("offset must not be negative")
        return offset, limit, {"page": offset // limit + 1, "per_page": limit}

    # --- shapes -------------------------------------------------------------------------

    @staticmethod
    def render_offer(record: dict, account: dict) -> dict:
        """An inventory number (§2.3, with the SDK's extra fields)."""
        capabilities = set(record["capabilities"])
        return {
            "id": record["id"],
            "account_id": "",
            "e164": record["e164"],
            "country": record["country"],
            "region": record["region"] or None,
            "capabilities": {key: key in capabilities for key in CAPABILITY_KEYS},
            "status": "active",
            "provider": "",
            "setup_fee": amount(record["setup_fee"]),
            "monthly_fee": amount(record["monthly_fee"]),
            "currency": account["currency"],
            "voice_enabled": "voice" in capabilities,
            "tags": [],
            "is_blocked": False,
            "is_trial_number": False,
            "minimum_commitment_months": 0,
            "aadhaar_verification_required": False,
            "aadhaar_verified": False,
            "created_at": record["updated_at"],
            "updated_at": record["updated_at"],
        }

    @classmethod
    def render_number(cls, record: dict, account: dict) -> dict:
        """An owned PhoneNumber object (§2.1)."""
        offer = cls.render_offer(record, account)
        return offer | {
            "account_id": account["account_id"],
            "status": STATUSES[record["status"]],
            "application_id": None,
            "trunk_group_id": None,
            "tags": [record["label"]] if record["label"] else [],
            "purchased_at": record["purchased_at"],
            "created_at": record["purchased_at"] or record["updated_at"],
            "last_billing_date": record["purchased_at"],
            "next_billing_date": None,
            "source": "purchased",
            "released_at": record["released_at"],
        }

    @staticmethod
    def render_transaction(row: dict, auth_id: str) -> dict:
        """A ledger row (§2.8)."""
        description = row["description"]
        if row["kind"] == "credit":
            reference_type, description = CREDIT_REFERENCES[
                int(row["id"][-4:], 16) % len(CREDIT_REFERENCES)
            ]
            direction = "credit"
        else:
            direction, reference_type = LEDGER_TYPES[row["kind"]]
        if row["e164"]:
            description = f"{description} {row['e164']}"
        # §2.8: a call's row names its CDR, "cdr_<uuid>" (the call's `uuid` on /cdr).
        reference = row.get("call_id") or row["id"].removeprefix("txn_")
        return {
            "id": row["id"],
            "account_id": auth_id,
            "balance_id": f"bal_{uuid.uuid5(uuid.NAMESPACE_URL, f'vobiz:{auth_id}:balance')}",
            "type": direction,
            "amount": amount(row["amount"]),
            "currency": row["currency"],
            "description": description,
            "reference": f"{reference_type}_{reference}",
            "reference_type": reference_type,
            "status": "completed",
            "processed_at": row["created_at"],
            "created_at": row["created_at"],
            "updated_at": row["created_at"],
        }


def _total(rows: list[dict], direction: str) -> Decimal:
    return sum((row["amount"] for row in rows if row["type"] == direction), Decimal(0))
