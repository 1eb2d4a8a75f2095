"""Vobiz: the `X-Auth-ID` + `X-Auth-Token` REST API under `/api/v1`.

What Vobiz offers, per `shared/providers/vobiz.md`: the owned-number list (page/per_page),
its inventory with each number's setup and monthly fee, purchase from inventory (seed 002),
release, a balance per currency and the transaction ledger. It has no single-number GET
(§2.2: the list's `search` stands in), no label or tag writer (§2.5, §5.9: the portal keeps
labels itself) and no service plans (§2.9: pricing is a per-account tier).

Money is INR or USD in major units, read from each record's own `currency` (§4); amounts
are JSON numbers, int or float, or numeric strings, and all become exact Decimals. Error
bodies come in several shapes (§3): the flat `{"error": "<words>", "message"}` of the number
endpoints and the generic `{"status": "error", "error": {"code", "message"}}` envelope;
`error_code` turns both into one code for `error_table`.

What each endpoint states of an owned number, and which wins where two do (numbers.fees,
numbers.services.synced_values: a field an answer leaves out never erases a known value).
The list (§2.1) and the purchase answer (seed 002) carry the same PhoneNumber object:

| field | list / purchase | inventory §2.3 | precedence |
|---|---|---|---|
| id, status (`is_blocked`), label (`tags`) | yes | — | listing |
| country, region, capabilities | yes | yes (capabilities optional) | listing, else the offer's |
| type | from the number | from the number | the number |
| setup fee, monthly fee, currency | yes | yes | listing |
| purchased_at, released_at | yes | — | listing |
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import phonenumbers

from portal.providers import errors, parsing
from portal.providers.base import (
    AvailableNumber,
    Balance,
    OwnedNumber,
    ProviderAdapter,
    SearchQuery,
    UpstreamCall,
    UpstreamTransaction,
)
from portal.providers.call_records import aware, in_window, party, seconds
from portal.providers.capabilities import Capability
from portal.providers.paging import PageGuard
from portal.providers.parsing import Reader
from portal.providers.phone import country_of, number_type_of

# §2.1, §2.3: `per_page` defaults to 25 and is capped at 100; §2.8: `limit` likewise at 100.
PAGE_SIZE = 100
# §2.8 CDR `end_date` names the last day included: the day of the last moment before `until`.
CALL_DAY_EDGE = timedelta(microseconds=1)

# §2.1 PhoneNumber.status → the portal's statuses. `pending_release` is the 24-hour release
# cooldown of §2.6: the number is still on the account and can be taken back, but a release
# is under way, so it is "pending" (a transition), never "active" (which would undo a release
# the portal already recorded) nor "released" (it may still be cancelled).
STATUSES = {
    "active": "active",
    "pending_purchase": "pending",
    "pending_release": "pending",
    "blocked": "suspended",
    "released": "released",
}

# §2.1: `capabilities` is an object of booleans with these keys.
CAPABILITY_KEYS = ("voice", "sms", "mms", "fax")

# §2.8: the sign of an amount is in `type`; `reference_type` says what it paid for.
# `did_rental` holds a number's setup and monthly fees, `cdr` per-call charges; every other
# reference type (payment, refund, manual_adjustment, unknown) keeps the plain direction.
TRANSACTION_KINDS = {
    ("debit", "did_rental"): "recurring",
    ("debit", "cdr"): "usage",
}
# §2.8 and §4 book a number's setup fee under `did_rental` too; only its description tells
# it from the rental that recurs ([INFERRED]: "Number setup fee"). It is a one-time debit.
ONE_TIME_RENTAL_CHARGE = re.compile(r"\b(setup|set-up|activation|one[- ]time)\b", re.IGNORECASE)
TRANSACTION_DIRECTIONS = {"debit": "debit", "credit": "credit"}
# §2.8 [DOCS-OLD]: no `reference_type`, but a `reference` such as "cdr:<uuid>" (current
# references read "cdr_<uuid>"), whose prefix names the same thing.
REFERENCE_PREFIX = re.compile(r"^(did_rental|cdr)[:_]")
# Vobiz names the number a charge is for only in free text, if at all ([INFERRED]).
E164_IN_TEXT = re.compile(r"\+[1-9]\d{6,14}")


def _is_words(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


class VobizAdapter(ProviderAdapter):
    slug = "vobiz"
    name = "Vobiz"
    capabilities = frozenset(
        {
            Capability.LIST_NUMBERS,
            Capability.GET_NUMBER,  # through the list's exact `search` (§2.2)
            Capability.SEARCH_NUMBERS,
            Capability.PURCHASE,
            Capability.RELEASE,
            Capability.BALANCE,
            Capability.TRANSACTIONS,
            Capability.CALL_RECORDS,
        }
    )
    # Keys are (HTTP status, code); a code is the generic envelope's `error.code` or the flat
    # body's `error` words (see `error_code`).
    error_table = {
        # §2.4 [SEED-002]: the one documented purchase refusal, for a number that is owned,
        # released or never stocked: "number not found in inventory".
        (404, "not found"): errors.NumberUnavailable,
        # §2.6: releasing a number of another account: "account does not own this number".
        (403, "forbidden"): errors.NumberUnavailable,
        # §3 errors page: the generic envelope's 402; some pages answer 500 instead (§5.6),
        # which stays UpstreamUnavailable: the number is then re-checked, never assumed.
        (None, "INSUFFICIENT_BALANCE"): errors.InsufficientFunds,
        (402, None): errors.InsufficientFunds,
        (None, "INVALID_CREDENTIALS"): errors.AuthenticationFailed,
        # [INFERRED]: Vobiz documents no body for a country the account may not buy in, nor
        # for a malformed number; the sandbox answers them so.
        (None, "REGION_NOT_ALLOWED"): errors.RegionNotAllowed,
        (400, "invalid number"): errors.InvalidNumber,
        (422, "invalid number"): errors.InvalidNumber,
        # §2.7 [INFERRED]: a balance in a currency the account does not hold.
        (404, "BALANCE_NOT_FOUND"): errors.NotFound,
    }

    # --- protocol -------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        # §1: both on every request; the token is the secret.
        return {
            "X-Auth-ID": self.account.upstream_account_id,
            "X-Auth-Token": self.account.secret,
        }

    def error_code(self, body: Any) -> str:
        if not isinstance(body, Mapping):
            return ""
        error = body.get("error")
        if isinstance(error, Mapping):  # the generic envelope
            return str(error.get("code") or "")
        return error.strip() if _is_words(error) else ""

    def error_message(self, body: Any) -> str:
        # §3: `message` if text, else `error.message` if `error` is an object, else `error`.
        if not isinstance(body, Mapping):
            return ""
        error = body.get("error")
        candidates = (
            body.get("message"),
            error.get("message") if isinstance(error, Mapping) else None,
            error,
        )
        return next((text for text in candidates if _is_words(text)), "")

    def _path(self, *parts: str) -> str:
        # §1.1: the SDK's capital-A `Account` for every endpoint used here.
        return "/".join(("/Account", quote(self.account.upstream_account_id, safe=""), *parts))

    @staticmethod
    def _number_segment(number: str) -> str:
        return quote(number, safe="")  # §1.1: "+" → "%2B" in a path, literal in a body

    # --- numbers ----------------------------------------------------------------------------

    def iter_owned_numbers(self) -> Iterator[OwnedNumber]:
        yield from self._owned(search=None)

    def get_number(self, number: str) -> OwnedNumber:
        # §2.2: no single-number GET; `search` matches substrings, so take the exact one.
        for owned in self._owned(search=number):
            if owned.number == number:
                return owned
        raise errors.NotFound(f"{number} is not on this Vobiz account", provider=self.name)

    def _owned(self, search: str | None) -> Iterator[OwnedNumber]:
        # §2.1: a master account also sees its sub-accounts' numbers unless told otherwise
        # (each belongs to the sub-account's own portal account). The path and
        # include_subaccounts=false scope the listing, so every row is kept: comparing each
        # row's owner with ours would drop them all where rows name a placeholder (the
        # published MA_XXXXXXXX) or only the older `auth_id` (§5.3), and the account would
        # look empty to the sync, which then releases what it holds.
        params = {"include_subaccounts": "false"}
        if search:
            params["search"] = search
        for item in self._pages(self._path("numbers"), params, "numbers", kind="numbers"):
            yield self._owned_number(item)

    def _pages(
        self, path: str, params: Mapping[str, Any], what: str, *, kind: str
    ) -> Iterator[Reader]:
        """Every item of a page/per_page listing (§2.1, §2.3) of `kind`, one page in memory
        at a time.

        A page may hold fewer items than `per_page` says while more remain (a server that
        caps its page size below what it echoes): paging goes on until `total` items have
        come, or a page comes back empty, never by counting pages. A page read before, or
        rows past the kind's ceiling, end it as an error (PageGuard)."""
        guard = PageGuard(self.name, kind)
        received, page = 0, 1
        while True:
            body = Reader(
                self.request("GET", path, params={**params, "page": page, "per_page": PAGE_SIZE}),
                what,
                provider=self.name,
            )
            items = body.list("items")
            total = body.int("total")
            for index, item in enumerate(guard.page(items)):
                yield Reader(item, f"{what}.items[{index}]", provider=self.name)
            received += len(items)
            if not items or received >= total:
                return
            page += 1

    def _owned_number(self, item: Reader) -> OwnedNumber:
        status = item.term("status", STATUSES, what="status")
        number = item.e164("e164")
        return OwnedNumber(
            number=number,
            status="suspended" if item.bool("is_blocked", False) else status,
            currency=item.currency("currency"),
            upstream_id=item.str("id", ""),
            label=self._label(item),
            country=item.str("country", "") or country_of(number),
            region=item.str("region", ""),
            number_type=number_type_of(number),  # Vobiz states none (§2.1)
            capabilities=self._capabilities(item),
            setup_fee=item.money("setup_fee", required=False),
            monthly_fee=item.money("monthly_fee", required=False),
            purchased_at=item.datetime("purchased_at", required=False),
            released_at=item.datetime("released_at", required=False),
        )

    def _label(self, item: Reader) -> str:
        # §2.1: `tags` (a list of text, read-only upstream) is the nearest thing to a label.
        tags = item.list("tags", required=False)
        if not all(isinstance(tag, str) for tag in tags):
            raise errors.UnexpectedResponse(
                f"{item.where}.tags: expected a list of text",
                provider=self.name,
                excerpt=parsing.excerpt(tags),
            )
        return ", ".join(tag for tag in tags if tag)

    @staticmethod
    def _capabilities(item: Reader) -> frozenset[str]:
        # §2.3: inventory items may come without `capabilities`.
        flags = item.object("capabilities", required=False)
        if flags is None:
            return frozenset()
        return frozenset(key for key in CAPABILITY_KEYS if flags.bool(key, False))

    # --- inventory and purchase -------------------------------------------------------------

    def search_available(self, query: SearchQuery) -> list[AvailableNumber]:
        # §2.3: the inventory filters by country and by a substring of the E.164 only; area,
        # type and capabilities are checked here, on each page as it comes.
        params = {"country": query.country.upper()} if query.country else {}
        search = self._search_text(query)
        if search:
            params["search"] = search
        found: list[AvailableNumber] = []
        if query.limit <= 0:
            return found
        inventory = self._pages(
            self._path("inventory", "numbers"), params, "inventory", kind="inventory"
        )
        for item in inventory:
            offer = self._available_number(item)
            if self._matches(offer, query):
                found.append(offer)
                if len(found) >= query.limit:
                    break
        return found

    @staticmethod
    def _search_text(query: SearchQuery) -> str:
        if query.contains:
            return query.contains
        area = query.area.strip()
        if area.isdigit():  # an area code: the numbers start with +<country code><area>
            calling_code = phonenumbers.country_code_for_region(query.country.upper())
            return f"+{calling_code}{area}" if calling_code else ""
        return ""

    def _matches(self, offer: AvailableNumber, query: SearchQuery) -> bool:
        return (
            (not query.contains or query.contains in offer.number)
            and (not query.area.strip() or self._in_area(offer, query.area.strip()))
            and (not query.number_type or offer.number_type == query.number_type)
            and query.capabilities <= offer.capabilities
        )

    @staticmethod
    def _in_area(offer: AvailableNumber, area: str) -> bool:
        # §5.14: `region` is free text or a code; an all-digit area is an area code.
        if area.isdigit():
            national = str(phonenumbers.parse(offer.number).national_number)
            return national.startswith(area)
        return offer.region.casefold() == area.casefold()

    def _available_number(self, item: Reader) -> AvailableNumber:
        number = item.e164("e164")
        return AvailableNumber(
            number=number,
            currency=item.currency("currency"),
            country=item.str("country", "") or country_of(number),
            region=item.str("region", ""),
            number_type=number_type_of(number),
            capabilities=self._capabilities(item),
            setup_fee=item.money("setup_fee", required=False),
            monthly_fee=item.money("monthly_fee", required=False),
        )

    def purchase(
        self, number: str, *, label: str = "", quote: AvailableNumber | None = None
    ) -> OwnedNumber:
        # Seed 002: `e164` with a literal "+"; `currency` defaults to the number's own, so
        # only a quote's currency is sent. Vobiz takes no label (§2.5) and no price to hold:
        # it charges the number's current fees.
        body = {"e164": number}
        if quote is not None:
            body["currency"] = quote.currency
        response = Reader(
            self.request("POST", self._path("numbers", "purchase-from-inventory"), json=body),
            "purchase",
            provider=self.name,
        )
        return self._owned_number(self._purchased(response))

    def _purchased(self, response: Reader) -> Reader:
        # §5.5: `number` in every form; the current one adds `items`, so fall back to it.
        if response.has("number"):
            return response.object("number")
        items = response.list("items")
        if not items:
            raise errors.UnexpectedResponse(
                "purchase: neither number nor items in the response",
                provider=self.name,
                excerpt=parsing.excerpt(response.value),
            )
        return Reader(items[0], "purchase.items[0]", provider=self.name)

    def release(self, number: OwnedNumber) -> None:
        # §2.6: 204, 200 with a message, or 200 `pending_release` (24-hour cooldown, which
        # shows up on the next sync as a pending number); all mean the release was accepted.
        self.request(
            "DELETE",
            self._path("numbers", self._number_segment(number.number)),
            allow_empty=True,
        )

    # --- billing ----------------------------------------------------------------------------

    def get_balance(self) -> Balance:
        # §2.7: one balance per currency, named in the path.
        body = Reader(
            self.request("GET", self._path("balance", quote(self.account.currency, safe=""))),
            "balance",
            provider=self.name,
        )
        # `available_balance` is the balance less reservations, what a purchase can spend;
        # older and legacy shapes have only `balance` (a number or a decimal string).
        key = "available_balance" if body.has("available_balance") else "balance"
        return Balance(
            amount=body.money(key),
            currency=body.currency("currency"),
            credit_limit=body.money("credit_limit", required=False),
        )

    def iter_transactions(self, since: datetime | None = None) -> Iterator[UpstreamTransaction]:
        # §2.8: no date filter upstream and no documented order, so every row is read and
        # those before `since` are dropped here.
        for row in self._transaction_rows():
            transaction = self._transaction(row)
            if since is None or transaction.occurred_at >= since:
                yield transaction

    def _transaction_rows(self) -> Iterator[Reader]:
        """§2.8: requests page by limit/offset. The response counts either in pages
        (`total`, `page`, `per_page`) or, in the older form, by `count`/`limit`/`offset`
        with no total. The offset moves by the rows received, so a short page loses none.
        A page read before, or rows past the ceiling, end it as an error (PageGuard)."""
        guard = PageGuard(self.name, "transactions")
        offset = 0
        while True:
            body = Reader(
                self.request(
                    "GET",
                    self._path("transactions"),
                    params={"limit": PAGE_SIZE, "offset": offset},
                ),
                "transactions",
                provider=self.name,
            )
            rows = body.list("transactions")
            for index, row in enumerate(guard.page(rows)):
                yield Reader(row, f"transactions.transactions[{index}]", provider=self.name)
            offset += len(rows)
            total = body.int("total", -1)
            if not rows or 0 <= total <= offset:
                return

    def _transaction(self, row: Reader) -> UpstreamTransaction:
        direction = row.term("type", TRANSACTION_DIRECTIONS, what="transaction type")
        amount = row.money("amount")
        currency = row.currency("currency")
        occurred_at = row.datetime("created_at", required=False) or row.datetime("processed_at")
        reference = row.str("reference", "")
        description = row.str("description", "")
        reference_type = row.str("reference_type", "") or self._reference_prefix(reference)
        return UpstreamTransaction(
            upstream_id=row.str("id", "")
            or parsing.stable_id(direction, amount, currency, occurred_at, reference, description),
            kind=self._kind(direction, reference_type, description),
            amount=abs(amount),
            currency=currency,
            occurred_at=occurred_at,
            description=description,
            number=self._number_named_in(description, reference),
            reference=reference,
        )

    # --- call records ---------------------------------------------------------------------

    def iter_calls(self, since: datetime | None, until: datetime) -> Iterator[UpstreamCall]:
        """§2.8 "CDR billing" [SDK]: `GET …/cdr`, filtered by whole days (`start_date` and
        `end_date`, YYYY-MM-DD, both included), so [since, until) is applied here too;
        paged by `page`/`per_page` (max 100) until `pagination.has_next` is false."""
        since, until = aware(since), aware(until)
        params: dict[str, Any] = {"end_date": (until - CALL_DAY_EDGE).date().isoformat()}
        if since is not None:
            params["start_date"] = since.date().isoformat()
        guard = PageGuard(self.name, "calls")
        page = 1
        while True:
            body = Reader(
                self.request(
                    "GET", self._path("cdr"), params={**params, "page": page, "per_page": PAGE_SIZE}
                ),
                "cdr",
                provider=self.name,
            )
            items = body.list("data")
            for index, item in enumerate(guard.page(items)):
                call = self._call(Reader(item, f"cdr.data[{index}]", provider=self.name))
                if in_window(call.started_at, since, until):
                    yield call
            pagination = body.object("pagination")
            if not items or not pagination.bool("has_next", False):
                return
            page += 1

    def _call(self, item: Reader) -> UpstreamCall:
        """A CDR item (SDK `ListCdrsResponseDataItem`). Its `uuid` is what the ledger's
        `cdr` row names ("cdr_<uuid>", §2.8), so it is the call's id; `id` is a row number.
        `total_cost` is what the call cost; `cost` and `streaming_cost` are its parts."""
        direction = item.str("call_direction", "")
        return UpstreamCall(
            upstream_id=item.str("uuid"),
            started_at=item.datetime("start_time"),
            from_number=party(item, "caller_id_number"),
            to_number=party(item, "destination_number"),
            direction=direction if direction in ("inbound", "outbound") else "",
            status=item.str("hangup_cause", ""),
            duration_seconds=seconds(item, "duration"),
            billed_seconds=seconds(item, "billsec", default=None),
            cost=item.money("total_cost"),
            currency=item.currency("currency"),
            parts={
                key: str(item.money(key)) for key in ("cost", "streaming_cost") if item.has(key)
            },
        )

    @staticmethod
    def _kind(direction: str, reference_type: str, description: str) -> str:
        kind = TRANSACTION_KINDS.get((direction, reference_type), direction)
        if kind == "recurring" and ONE_TIME_RENTAL_CHARGE.search(description):
            return "debit"
        return kind

    @staticmethod
    def _reference_prefix(reference: str) -> str:
        found = REFERENCE_PREFIX.match(reference)
        return found.group(1) if found else ""

    @staticmethod
    def _number_named_in(*texts: str) -> str:
        for text in texts:
            found = E164_IN_TEXT.search(text)
            if found:
                return found.group(0)
        return ""
