"""Audian's API as the sandbox serves it (reference: providers/audian.md).

Audian documents two incompatible API families (§0) and a client may use either, so the
simulator serves both over one world:

- family R, `/v2/numbers…`: flat JSON bodies, `{"success": true, "data": …}`, limit/offset
  pages, errors `{"success": false, "error": {"code", "message"}}` with the SEED-000 codes;
- family K, Kazoo's Crossbar, `/v2/accounts/{ACCOUNT_ID}/…`, `/v2/phone_numbers`,
  `/v2/api_auth`: `{"data": …}` bodies, the Kazoo envelope (`auth_token`, `request_id`,
  `status`), start_key cursors, errors whose `error` is the HTTP status as a string.

Both accept the raw API key in `X-Auth-Token` (SEED-000) or a token from `PUT /v2/api_auth`
(§1.1, §5.4). Amounts are JSON numbers in dollars, as in every Audian example (§4).
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from fnmatch import fnmatchcase

import phonenumbers

from portal.providers.audian.simulator_calls import AudianCallRecords
from portal.providers.parsing import GREGORIAN_TO_UNIX
from portal.providers.sandbox.faults import RETRY_AFTER_SECONDS
from portal.providers.sandbox.http import Request, Response, Router, page_slice
from portal.providers.sandbox.simulated import Reject, SandboxProvider
from portal.providers.sandbox.state import CatalogEntry, SandboxError, iso
from portal.providers.sandbox.world import add_months

KAZOO, REST = "kazoo", "rest"
# Which family the request being handled belongs to, so the shared error hooks of
# SandboxProvider answer in that family's shape (§3). A context variable, because the
# threaded server handles requests of both families at once.
_family = contextvars.ContextVar("audian_family", default=KAZOO)
_KAZOO_PATHS = ("/v2/accounts", "/v2/phone_numbers", "/v2/api_auth")

# (default, maximum) page sizes: §2.1-R, §2.3-R and §5.7.
NUMBERS_PAGE = (20, 100)
SEARCH_PAGE = (10, 100)
KAZOO_PAGE = (25, 100)
KAZOO_SEARCH_QUANTITY = (10, 100)  # [INFERRED] no default is documented

LOCAL_FEATURES = ("voice", "sms", "mms")
TOLL_FREE_FEATURES = ("voice", "sms")
# Search results describe where a number is (§2.3-R `location`).
LOCATIONS = {
    "+1415": "San Francisco, CA",
    "+1212": "New York, NY",
    "+1305": "Miami, FL",
    "+1512": "Austin, TX",
    "+1833": "Toll-free, US",
    "+1888": "Toll-free, US",
}
# §2.3-R documents location codes such as `US-CA-415`; country alone and country-state are
# accepted too [INFERRED].
_LOCATION = re.compile(r"(?P<country>[A-Z]{2})(?:-(?P<region>[A-Z]{2}))?(?:-(?P<area>\d{3}))?")
_PATTERN = re.compile(r"[0-9*?]+")

# Kazoo number states (§2.1-K) for the sandbox's statuses.
KAZOO_STATES = {"active": "in_service", "released": "available", "available": "available"}

# A business refusal in family R: SEED-000 codes; their statuses are [INFERRED] (§2.4-R, §5.14).
REST_REFUSALS = {
    SandboxError.NUMBER_UNAVAILABLE: (409, "NUMBER_UNAVAILABLE"),
    SandboxError.NOT_IN_INVENTORY: (404, "NUMBER_UNAVAILABLE"),
    SandboxError.NOT_OWNED: (404, "NOT_FOUND"),
    SandboxError.INSUFFICIENT_FUNDS: (402, "INSUFFICIENT_CREDIT"),
    SandboxError.REGION_NOT_ALLOWED: (403, "INVALID_REGION"),
}
# The same refusals in family K: Kazoo's categories (§2.4-K, §2.2-K); 402 and 403 [INFERRED].
KAZOO_REFUSALS = {
    SandboxError.NUMBER_UNAVAILABLE: (409, "number_exists"),
    SandboxError.NOT_IN_INVENTORY: (404, "bad_identifier"),
    SandboxError.NOT_OWNED: (404, "bad_identifier"),
    SandboxError.INSUFFICIENT_FUNDS: (402, "insufficient_funds"),
    SandboxError.REGION_NOT_ALLOWED: (403, "forbidden"),
    SandboxError.INVALID_NUMBER: (404, "not_reconcilable"),
}
KAZOO_CATEGORIES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
# Injected faults answer in the Kazoo shape the errors pages document (§3); the
# categories for 429 and 503 are [INFERRED].
FAULT_CATEGORIES = {429: "too_many_requests", 500: "unspecified_fault", 503: "service_unavailable"}

SERVICE_PLAN_ID = "sandbox_numbers"


def session_token(account: dict) -> str:
    """The token `PUT /v2/api_auth` issues for an account's API key (§1.1). Derived from the
    key, so it needs no storage and survives a restart; no lifetime is documented."""
    digest = hmac.new(account["secret"].encode(), b"audian-sandbox-session", hashlib.sha256)
    return digest.hexdigest()


def audian_id(record: dict) -> str:
    """Family R's opaque number id (`num_abc123`, SEED-000), stable for a sandbox number."""
    return "num_" + record["id"].replace("-", "")[:16]


def amount(value) -> Decimal:
    """An amount as Audian writes it: two decimals as in its examples (0.99, 25.00), more
    only when they matter (0.0085). Written by `dumps` as an exact JSON number."""
    exact = Decimal(value)
    cents = exact.quantize(Decimal("0.01"))
    return cents if cents == exact else exact.normalize()


def gregorian(text: str) -> int:
    """Kazoo stamps times in seconds since year 0 (§4)."""
    return int(datetime.fromisoformat(text).timestamp()) + GREGORIAN_TO_UNIX


def from_gregorian(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds - GREGORIAN_TO_UNIX, UTC)


def next_anniversary(since: str, months: int) -> str:
    """The first date after now that is a whole number of `months` periods after `since`."""
    start, now = datetime.fromisoformat(since), datetime.now(UTC)
    periods = 1
    while (due := add_months(start, periods * months)) <= now:
        periods += 1
    return iso(due)


def _national(e164: str) -> str:
    return str(phonenumbers.parse(e164).national_number)


def _request_id() -> str:
    return uuid.uuid4().hex


class AudianSandbox(AudianCallRecords, SandboxProvider):
    amount = staticmethod(amount)
    slug = "audian"
    api_path = "/v2"
    catalog = (
        CatalogEntry("US", "CA", "+1415", 7, "local", "0", "0.99", LOCAL_FEATURES),
        CatalogEntry("US", "NY", "+1212", 7, "local", "0", "0.99", LOCAL_FEATURES),
        CatalogEntry("US", "FL", "+1305", 7, "local", "0", "0.99", LOCAL_FEATURES),
        CatalogEntry("US", "TX", "+1512", 7, "local", "0", "0.99", LOCAL_FEATURES),
        CatalogEntry("US", "", "+1833", 7, "toll_free", "2.00", "1.99", TOLL_FREE_FEATURES),
        CatalogEntry("US", "", "+1888", 7, "toll_free", "2.00", "1.99", TOLL_FREE_FEATURES),
    )

    def add_routes(self, router: Router) -> None:
        number = r"(?P<number_id>[^/]+)"
        # Family R (SEED-000, §2.1-R to §2.6-R). Search and purchase come before the id route.
        router.add("GET", r"/v2/numbers", self.list_numbers)
        router.add("GET", r"/v2/numbers/search", self.search_numbers)
        router.add("POST", r"/v2/numbers/purchase", self.purchase_number)
        router.add("GET", rf"/v2/numbers/{number}", self.get_number)
        router.add("DELETE", rf"/v2/numbers/{number}", self.release_number)
        router.add(("GET", "PUT"), rf"/v2/numbers/{number}/config", self.number_config)
        # Family K (SEED-001, §1.1, §2.1-K to §2.10).
        account = r"/v2/accounts/(?P<account_id>[^/]+)"
        e164 = r"(?P<e164>[^/]+)"
        router.add("PUT", r"/v2/api_auth", self.api_auth)
        router.add("GET", r"/v2/phone_numbers", self.kazoo_search)
        router.add("GET", rf"{account}/phone_numbers", self.kazoo_list_numbers)
        router.add("GET", rf"{account}/phone_numbers/{e164}", self.kazoo_get_number)
        router.add("PUT", rf"{account}/phone_numbers/{e164}(?:/activate)?", self.kazoo_buy)
        router.add(("POST", "PATCH"), rf"{account}/phone_numbers/{e164}", self.kazoo_update)
        router.add("DELETE", rf"{account}/phone_numbers/{e164}", self.kazoo_release)
        router.add("GET", rf"{account}/balance", self.balance)
        router.add("GET", rf"{account}/transactions/current_balance", self.current_balance)
        router.add("GET", rf"{account}/transactions", self.transactions)
        router.add("GET", rf"{account}/transactions/(?P<txn_id>[^/]+)", self.transaction)
        router.add("GET", rf"{account}/service_plans", self.service_plans)
        router.add("GET", rf"{account}/cdrs", self.cdrs)
        router.add("GET", rf"{account}/ledgers/per-minute-voip", self.per_minute_ledger)
        router.add("GET", rf"{account}/service_plans/(?P<plan_id>[^/]+)", self.service_plan)
        router.add("GET", rf"{account}/(?:children|accounts)", self.children)

    def handle(self, request: Request) -> Response:
        family = KAZOO if request.path.startswith(_KAZOO_PATHS) else REST
        token = _family.set(family)
        try:
            return super().handle(request)
        finally:
            _family.reset(token)

    # --- family R: numbers ------------------------------------------------------------

    def list_numbers(self, request: Request) -> Response:
        account = self._authenticate(request)
        limit, offset = self._limit_offset(request, NUMBERS_PAGE)
        records, total = self.state.owned_page(
            account, offset, limit, status=request.arg("status") or None
        )
        page = page_slice(records, short_page=request.short_page)
        numbers = [self._rest_number(record) for record in page]
        return self._rest_ok({"numbers": numbers, "total": total, "limit": limit, "offset": offset})

    def get_number(self, request: Request, number_id: str) -> Response:
        account = self._authenticate(request)
        record = self._record_by_id(account, number_id)
        return self._rest_ok(self._rest_number(record, billing=True))

    def search_numbers(self, request: Request) -> Response:
        self._authenticate(request)
        limit, offset = self._limit_offset(request, SEARCH_PAGE)
        location = _LOCATION.fullmatch((request.arg("location") or "").upper())
        if request.arg("location") and location is None:
            raise Reject(
                self._rest_error(400, "INVALID_LOCATION", "The specified location code is invalid")
            )
        where = location.groupdict("") if location else {"country": "", "region": "", "area": ""}
        pattern = request.arg("pattern") or "*"
        if not _PATTERN.fullmatch(pattern):
            raise Reject(self._api_error(400, "invalid_request_error", "bad pattern", "pattern"))

        def wanted(record: dict) -> bool:
            national = _national(record["e164"])
            return national.startswith(where["area"]) and fnmatchcase(national, pattern)

        offers, total = self.state.inventory_page(
            self.slug,
            offset,
            limit,
            country=where["country"],
            region=where["region"],
            capabilities=request.args("features"),
            where=wanted,
        )
        page = page_slice(offers, short_page=request.short_page)
        numbers = [self._rest_offer(record) for record in page]
        return self._rest_ok({"numbers": numbers, "total": total, "limit": limit, "offset": offset})

    def purchase_number(self, request: Request) -> Response:
        account = self._authenticate(request)
        body = request.json()
        number = body.get("number") if isinstance(body, dict) else None
        label = body.get("friendly_name", "") if isinstance(body, dict) else ""
        if not isinstance(number, str):
            raise Reject(self._api_error(400, "invalid_request_error", "number is required"))
        if not isinstance(label, str):
            raise Reject(self._api_error(400, "invalid_request_error", "bad name", "friendly_name"))
        record = self.state.buy(account, number.strip(), label=label)
        # §2.4-R: the status is not stated; the http-status-codes page shows 201 Created.
        return self._rest_ok(self._rest_number(record, billing=True), status=201)

    def number_config(self, request: Request, number_id: str) -> Response:
        account = self._authenticate(request)
        record = self._record_by_id(account, number_id)
        if request.method == "PUT":
            body = request.json()
            if not isinstance(body, dict):
                raise Reject(self._api_error(400, "invalid_request_error", "expected an object"))
            label = body.get("friendly_name", record["label"])
            if not isinstance(label, str):
                raise Reject(
                    self._api_error(400, "invalid_request_error", "bad name", "friendly_name")
                )
            # The sandbox keeps only the label; forwarding and voicemail read back as off.
            record = self.state.set_label(account, record["e164"], label)
        return self._rest_ok(
            {
                "id": audian_id(record),
                "number": record["e164"],
                "friendly_name": record["label"],
                "call_forwarding": {"enabled": False},
                "voicemail": {"enabled": False},
            }
        )

    def release_number(self, request: Request, number_id: str) -> Response:
        account = self._authenticate(request)
        record = self.state.release(account, self._record_by_id(account, number_id)["e164"])
        # §2.6-R [INFERRED]: release is undocumented in family R; the reference suggests this.
        return self._rest_ok(
            {"id": audian_id(record), "number": record["e164"], "status": "released"}
        )

    # --- family K: numbers ------------------------------------------------------------

    def api_auth(self, request: Request) -> Response:
        body = request.json()
        data = body.get("data") if isinstance(body, dict) else None
        api_key = data.get("api_key") if isinstance(data, dict) else None
        if not isinstance(api_key, str):
            raise Reject(self._kazoo_error(400, "invalid data", "data.api_key is required"))
        account = self.state.account_by_secret(self.slug, api_key)
        if account is None:
            raise Reject(self._unauthorized())
        return self._kazoo_ok(
            account,
            {"account_id": account["account_id"], "owner_id": f"user_{account['account_id'][:6]}"},
            version="5.4.32.6",
            tokens={"consumed": 0, "remaining": 100},
            timestamp=iso(datetime.now(UTC)),
        )

    def kazoo_list_numbers(self, request: Request, account_id: str) -> Response:
        account = self._kazoo_account(request, account_id)
        start_key = request.arg("start_key") or ""
        size = None  # paginate=false: every number from the start key on
        if request.arg("paginate") != "false":
            default, maximum = KAZOO_PAGE
            size = min(request.int_arg("page_size", default), maximum)
            if size < 1:
                raise ValueError("page_size must be positive")
        # One number past the page, to name the next page's start key.
        records, _ = self.state.owned_page(
            account, 0, None if size is None else size + 1, from_e164=start_key or None
        )
        claimed = records[:size]
        page = page_slice(claimed, short_page=request.short_page)
        envelope = {"page_size": len(claimed)}
        if start_key:
            envelope["start_key"] = start_key
        if len(records) > len(page):  # after a short page, the cursor resumes where it stopped
            envelope["next_start_key"] = records[len(page)]["e164"]
        # Audian's published shape (§2.1-K): `data` maps each number to its summary.
        data = {
            record["e164"]: {
                "features": self._kazoo_features(record),
                "state": KAZOO_STATES[record["status"]],
            }
            for record in page
        }
        return self._kazoo_ok(account, data, **envelope)

    def kazoo_get_number(self, request: Request, account_id: str, e164: str) -> Response:
        account = self._kazoo_account(request, account_id)
        record = self.state.owned_number(account, self._path_e164(e164))
        return self._kazoo_ok(account, self._kazoo_number(record))

    def kazoo_search(self, request: Request) -> Response:
        account = self._authenticate(request)
        default, maximum = KAZOO_SEARCH_QUANTITY
        quantity = min(request.int_arg("quantity", default), maximum)
        page_number = request.int_arg("offset", 0)  # §2.3-K: a page number, not an item offset
        if quantity < 1 or page_number < 0:
            raise ValueError("quantity and offset must be positive")
        prefix = (request.arg("prefix") or "").removeprefix("+1")
        offers, _ = self.state.inventory_page(
            self.slug,
            page_number * quantity,
            quantity,
            country=request.arg("country") or "US",
            region=request.arg("state") or "",
            where=lambda record: _national(record["e164"]).startswith(prefix),
        )
        # Audian's example (§2.3-K): `data` is a bare array of E.164 strings, with no price.
        return self._kazoo_ok(account, [record["e164"] for record in offers])

    def kazoo_buy(self, request: Request, account_id: str, e164: str) -> Response:
        """§5.1: plain PUT buys and activates, as Audian's page implies; `/activate` too."""
        account = self._kazoo_account(request, account_id)
        data = self._kazoo_body(request)
        label = data.get("friendly_name", "")
        if not isinstance(label, str):
            raise Reject(self._kazoo_error(400, "invalid data", "friendly_name must be text"))
        record = self.state.buy(account, self._path_e164(e164), label=label)
        return self._kazoo_ok(account, self._kazoo_number(record), status=201)

    def kazoo_update(self, request: Request, account_id: str, e164: str) -> Response:
        """§2.5-K: POST replaces the public fields, PATCH merges them; the label is the
        `friendly_name` public field [INFERRED key name]."""
        account = self._kazoo_account(request, account_id)
        record = self.state.owned_number(account, self._path_e164(e164))
        data = self._kazoo_body(request)
        keep = record["label"] if request.method == "PATCH" else ""
        label = data.get("friendly_name", keep)
        if not isinstance(label, str):
            raise Reject(self._kazoo_error(400, "invalid data", "friendly_name must be text"))
        record = self.state.set_label(account, record["e164"], label)
        return self._kazoo_ok(account, self._kazoo_number(record))

    def kazoo_release(self, request: Request, account_id: str, e164: str) -> Response:
        account = self._kazoo_account(request, account_id)
        record = self.state.release(account, self._path_e164(e164))
        return self._kazoo_ok(account, self._kazoo_number(record))

    # --- family K: billing ------------------------------------------------------------

    def balance(self, request: Request, account_id: str) -> Response:
        account = self._kazoo_account(request, account_id)
        balance = amount(self.state.balance(account))
        return self._kazoo_ok(account, {"balance": balance, "currency": account["currency"]})

    def current_balance(self, request: Request, account_id: str) -> Response:
        account = self._kazoo_account(request, account_id)
        # [KAZOO] §2.7: no currency field on this one.
        return self._kazoo_ok(account, {"balance": amount(self.state.balance(account))})

    def transactions(self, request: Request, account_id: str) -> Response:
        account = self._kazoo_account(request, account_id)
        created_from = request.int_arg("created_from", 0)
        created_to = request.int_arg("created_to", 0)
        rows = self.state.transactions(
            account, from_gregorian(created_from) if created_from else None
        )
        if created_to:
            until = from_gregorian(created_to)
            rows = [row for row in rows if datetime.fromisoformat(row["created_at"]) <= until]
        # SEED-001: a bare array, no pagination documented.
        return self._kazoo_ok(account, [self._kazoo_transaction(row) for row in rows])

    def transaction(self, request: Request, account_id: str, txn_id: str) -> Response:
        account = self._kazoo_account(request, account_id)
        for row in self.state.transactions(account):
            if row["id"] == txn_id:
                return self._kazoo_ok(account, self._kazoo_transaction(row))
        raise SandboxError(SandboxError.NOT_OWNED, f"transaction {txn_id} not found")

    def service_plans(self, request: Request, account_id: str) -> Response:
        account = self._kazoo_account(request, account_id)
        summary = {key: value for key, value in self._plan().items() if key != "plan"}
        return self._kazoo_ok(account, [summary], page_size=1)

    def service_plan(self, request: Request, account_id: str, plan_id: str) -> Response:
        account = self._kazoo_account(request, account_id)
        if plan_id != SERVICE_PLAN_ID:
            raise SandboxError(SandboxError.NOT_OWNED, f"service plan {plan_id} not found")
        return self._kazoo_ok(account, self._plan())

    def children(self, request: Request, account_id: str) -> Response:
        """§2.10: sandbox accounts have no sub-accounts; the reference recommends the Kazoo
        envelope together with the `pagination` block."""
        account = self._kazoo_account(request, account_id)
        return self._kazoo_ok(
            account, [], page_size=0, pagination={"limit": 0, "offset": 0, "total": 0}
        )

    # --- error shapes (§3) ------------------------------------------------------------

    def error_response(self, status: int, code: str, message: str, **extra) -> Response:
        if _family.get() == KAZOO:
            return self._kazoo_error(status, KAZOO_CATEGORIES.get(status, code), message)
        return self._rest_error(status, code.upper(), message)

    def sandbox_error(self, error: SandboxError) -> Response:
        if _family.get() == KAZOO:
            status, category = KAZOO_REFUSALS.get(error.kind, (500, "unspecified_fault"))
            return self._kazoo_error(status, category, error.message, code=status)
        if error.kind == SandboxError.INVALID_NUMBER:
            # The errors/error-codes page documents this one, in its own shape (§3).
            return self._api_error(400, "invalid_phone_number", error.message, "number")
        status, code = REST_REFUSALS.get(error.kind, (500, "PURCHASE_FAILED"))
        return self._rest_error(status, code, error.message)

    def fault_response(self, status: int) -> Response:
        category = FAULT_CATEGORIES.get(status, "unspecified_fault")
        response = self._kazoo_error(status, category, "injected sandbox fault")
        if status == 429:
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response

    def _rest_error(self, status: int, code: str, message: str) -> Response:
        """SEED-000 / §2.3-R: `{"success": false, "error": {"code": "UPPER_SNAKE", …}}`."""
        body = {"success": False, "error": {"code": code, "message": message}}
        return Response(status, body, {"X-Request-ID": _request_id()})

    def _api_error(self, status: int, code: str, message: str, param: str = "") -> Response:
        """The errors/error-codes shape (§3): `{"error": {code, message, type, param}}`."""
        kind = "authentication_error" if status == 401 else "invalid_request_error"
        error = {"code": code, "message": message, "type": kind}
        if param:
            error["param"] = param
        return Response(status, {"error": error}, {"X-Request-ID": _request_id()})

    def _kazoo_error(self, status: int, category: str, message: str, **data) -> Response:
        """§3 style K: `error` is the HTTP status as a string, `message` the category."""
        request_id = _request_id()
        body = {
            "auth_token": "",
            "data": {"message": message, **data},
            "error": str(status),
            "message": category,
            "request_id": request_id,
            "status": "error",
        }
        return Response(status, body, {"X-Request-ID": request_id})

    def _unauthorized(self, presented: bool = True) -> Response:
        if _family.get() == KAZOO:  # §1.2
            return self._kazoo_error(401, "unauthorized", "invalid credentials")
        if presented:
            return self._api_error(401, "invalid_api_key", "The API key is not valid")
        return self._api_error(401, "missing_authentication", "X-Auth-Token is required")

    # --- success envelopes ------------------------------------------------------------

    @staticmethod
    def _rest_ok(data, status: int = 200) -> Response:
        return Response(status, {"success": True, "data": data}, {"X-Request-ID": _request_id()})

    @staticmethod
    def _kazoo_ok(account: dict, data, status: int = 200, **envelope) -> Response:
        # The envelope echoes the session token, never the API key it may have been given.
        request_id = _request_id()
        body = {
            "auth_token": session_token(account),
            "data": data,
            "request_id": request_id,
            "status": "success",
            **envelope,
        }
        return Response(status, body, {"X-Request-ID": request_id})

    # --- authentication ---------------------------------------------------------------

    def _authenticate(self, request: Request) -> dict:
        presented = request.headers.get("x-auth-token", "").strip()
        account = self._account_for(presented) if presented else None
        if account is None:
            raise Reject(self._unauthorized(bool(presented)))
        return account

    def _account_for(self, presented: str) -> dict | None:
        """§5.4: the raw API key (SEED-000) or a token issued by `api_auth`."""
        account = self.state.account_by_secret(self.slug, presented)
        if account is not None:
            return account
        for candidate in self.state.accounts(self.slug):
            if hmac.compare_digest(session_token(candidate), presented):
                return candidate
        return None

    def _kazoo_account(self, request: Request, account_id: str) -> dict:
        """Family K names the account in the path; it must be the key's own (§1.2: 403)."""
        account = self._authenticate(request)
        if account["account_id"] != account_id:
            raise Reject(
                self._kazoo_error(403, "forbidden", "You do not have access to this account")
            )
        return account

    # --- reading the world ------------------------------------------------------------

    def _record_by_id(self, account: dict, number_id: str) -> dict:
        found, _ = self.state.owned_page(
            account, 0, 1, where=lambda record: audian_id(record) == number_id
        )
        if not found:
            raise SandboxError(SandboxError.NOT_OWNED, f"number {number_id} was not found")
        return found[0]

    @staticmethod
    def _limit_offset(request: Request, sizes: tuple[int, int]) -> tuple[int, int]:
        default, maximum = sizes
        limit = min(request.int_arg("limit", default), maximum)  # over the maximum: clamped
        offset = request.int_arg("offset", 0)
        if limit < 1 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        return limit, offset

    @staticmethod
    def _path_e164(raw: str) -> str:
        """§5.11: Kazoo wants `%2B`, Audian's examples a literal `+`; both arrive decoded."""
        return raw if raw.startswith("+") else f"+{raw}"

    def _kazoo_body(self, request: Request) -> dict:
        """Family K wraps every body in `{"data": {...}}`; the body may be empty."""
        body = request.json()
        if body is None:
            return {}
        data = body.get("data", {}) if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise Reject(self._kazoo_error(400, "invalid data", 'expected {"data": {...}}'))
        return data

    # --- rendering --------------------------------------------------------------------

    @staticmethod
    def _rest_number(record: dict, *, billing: bool = False) -> dict:
        """SEED-000's number object; only the purchase and detail responses carry `billing`."""
        purchased = record["purchased_at"] or record["updated_at"]
        number = {
            "id": audian_id(record),
            "number": record["e164"],
            "friendly_name": record["label"],
            "status": record["status"],
            "purchased_at": purchased,
            "expires_at": next_anniversary(purchased, 12),
        }
        if billing:
            number["billing"] = {
                "monthly_cost": amount(record["monthly_fee"]),
                "next_charge": next_anniversary(purchased, 1),
            }
        return number

    @staticmethod
    def _rest_offer(record: dict) -> dict:
        return {
            "number": record["e164"],
            "location": LOCATIONS.get(record["e164"][:5], record["region"]),
            "available": True,
            "price": {
                "monthly": amount(record["monthly_fee"]),
                "setup": amount(record["setup_fee"]),
            },
            "features": list(record["capabilities"]),
        }

    @staticmethod
    def _kazoo_features(record: dict) -> list[str]:
        return ["local"] if record["type"] == "local" else []

    def _kazoo_number(self, record: dict) -> dict:
        """The number document of §2.2-K; the label is a custom public field."""
        state = KAZOO_STATES[record["status"]]
        features = self._kazoo_features(record)
        document = {
            "id": record["e164"],
            "state": state,
            "features": features,
            "_read_only": {
                "created": gregorian(record["purchased_at"] or record["updated_at"]),
                "modified": gregorian(record["updated_at"]),
                "state": state,
                "features": features,
                "features_available": ["cnam", "e911"],
            },
        }
        if record["label"]:
            document["friendly_name"] = record["label"]
        return document

    @staticmethod
    def _kazoo_transaction(row: dict) -> dict:
        """SEED-001's item: a positive amount whose direction is in `type`. Kazoo items
        carry free-form `metadata`; the sandbox names the number there [INFERRED]."""
        item = {
            "id": row["id"],
            "amount": amount(row["amount"]),
            "description": row["description"],
            "created": row["created_at"],
            "type": row["kind"],
        }
        if row["e164"]:
            item["metadata"] = {"phone_number": row["e164"]}
        return item

    def _plan(self) -> dict:
        """One service plan pricing the catalog (§2.9 [KAZOO] shape: dollars, per month
        `rate` and one-time `activation_charge`)."""
        classifiers = {}
        for entry in self.catalog:
            kind = "tollfree" if entry.number_type == "toll_free" else "did"
            name = "toll-free" if entry.number_type == "toll_free" else "DID"
            classifiers.setdefault(
                f"{kind}_{entry.country.lower()}",
                {
                    "name": f"{entry.country} {name}",
                    "rate": amount(entry.monthly_fee),
                    "activation_charge": amount(entry.setup_fee),
                },
            )
        return {
            "id": SERVICE_PLAN_ID,
            "name": "Sandbox numbers plan",
            "description": "Phone number rental and activation charges",
            "plan": {"phone_numbers": classifiers},
        }
