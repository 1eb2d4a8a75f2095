"""Audian, a Kazoo-based provider (reference: providers/audian.md; seeds 000 and 001).

Audian documents two API families (§0). This adapter uses family R (`/v2/numbers…`: flat
bodies, `{"success": true, "data": …}`, limit/offset pages) for numbers, because only it has
opaque ids and a label (`friendly_name`), and family K (`/v2/accounts/{ACCOUNT_ID}/…`, the
Kazoo envelope) for billing, where SEED-001 documents it. Authentication is the raw API key
in `X-Auth-Token`, as SEED-000 shows (§1, §5.4). Money is USD, written as JSON numbers in
dollars (§4), read as Decimal.

What each endpoint states of an owned number, and which wins where two do (numbers.fees,
numbers.services.synced_values: a field an answer leaves out never erases a known value):

| field | listing §2.1-R | purchase §2.4-R | offer §2.3-R | plan §2.9 | precedence |
|---|---|---|---|---|---|
| status, label, id | yes | yes | — | — | listing |
| purchased_at | yes | yes | — | — | listing (the same fact) |
| region | — | — | `location` | — | the offer's, kept by every sync |
| capabilities | — | — | `features` | — | the offer's, kept by every sync |
| type, country | from the number | from the number | from the number | — | the number |
| monthly fee | — | `billing.monthly_cost` | `price.monthly` | `rate` | purchase/offer, then plan |
| setup fee | — | — | `price.setup` | `activation_charge` | offer, then plan |
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

from portal.providers import errors, parsing
from portal.providers.base import (
    NUMBER_CAPABILITIES,
    AvailableNumber,
    Balance,
    CallPrice,
    OwnedNumber,
    ProviderAdapter,
    SearchQuery,
    ServicePlan,
    UpstreamCall,
    UpstreamTransaction,
    first_matching,
)
from portal.providers.call_records import aware, in_window, party, seconds, unix_ceil, unix_floor
from portal.providers.capabilities import Capability
from portal.providers.optional import CALL_EVERY_TIME, Endpoint, OptionalEndpoints
from portal.providers.paging import PageGuard
from portal.providers.parsing import Reader
from portal.providers.phone import country_of, number_type_of

CURRENCY = "USD"  # §4: USD everywhere; family-K items carry no currency field
PAGE_SIZE = 100  # §2.1-R and §2.3-R: `limit` max 100; §5.7: Kazoo's `page_size` too
# How long after a call started its ledger entry may be dated (when the call ended).
LEDGER_ENTRY_LAG = timedelta(days=1)

# §5.13: family R `status` and family K `state` (the Kazoo lifecycle, §2.1-K) → the portal's.
NUMBER_STATUS = {
    "active": "active",
    "suspended": "suspended",
    "pending": "pending",
    "released": "released",
    "in_service": "active",
    "reserved": "active",
    "port_in": "pending",
    "port_out": "active",  # still held until the port completes
    "discovery": "pending",
    "available": "released",  # what a Kazoo DELETE leaves behind (§2.6-K)
    "aging": "released",
    "deleted": "released",
    "disconnected": "released",
}
# SEED-001 types map 1:1; the family-R types (§2.8-R, §4) by their direction.
TRANSACTION_KIND = {
    "debit": "debit",
    "credit": "credit",
    "recurring": "recurring",
    "usage": "usage",
    "charge": "debit",
    "fee": "debit",
    "payment": "credit",
    "refund": "credit",
}


class AudianAdapter(ProviderAdapter):
    slug = "audian"
    name = "Audian"
    capabilities = frozenset(
        {
            Capability.LIST_NUMBERS,
            Capability.GET_NUMBER,
            Capability.SEARCH_NUMBERS,
            Capability.PURCHASE,
            Capability.UPDATE_LABEL,
            Capability.RELEASE,
            Capability.BALANCE,
            Capability.TRANSACTIONS,
            Capability.SERVICE_PLANS,
            Capability.CALL_RECORDS,
        }
    )
    labels_sync_upstream = True  # `friendly_name` is read back by GET /v2/numbers
    # Codes from all three error shapes (§3). SEED-000 gives its purchase codes no HTTP
    # status (§5.14), so those match whatever status they come with.
    error_table = {
        # SEED-000 and §2.2-R/§2.3-R, family R.
        (None, "NUMBER_UNAVAILABLE"): errors.NumberUnavailable,
        (None, "INSUFFICIENT_CREDIT"): errors.InsufficientFunds,
        (None, "INVALID_REGION"): errors.RegionNotAllowed,
        (None, "PURCHASE_FAILED"): errors.UpstreamUnavailable,
        (None, "NOT_FOUND"): errors.NotFound,
        (None, "INVALID_LOCATION"): errors.InvalidRequest,
        # errors/error-codes (§3, the Stripe-like shape).
        (None, "invalid_api_key"): errors.AuthenticationFailed,
        (None, "missing_authentication"): errors.AuthenticationFailed,
        (None, "invalid_phone_number"): errors.InvalidNumber,
        (None, "invalid_request_error"): errors.InvalidRequest,
        (None, "insufficient_funds"): errors.InsufficientFunds,
        # Kazoo categories (§2.2-K, §2.4-K).
        (None, "number_exists"): errors.NumberUnavailable,
        (None, "not_reconcilable"): errors.InvalidNumber,
        (404, "bad_identifier"): errors.NotFound,
        # Both documented 402 bodies mean the money is short, Kazoo's "accept charges" too.
        (402, None): errors.InsufficientFunds,
        (409, None): errors.NumberUnavailable,
    }

    @classmethod
    def plan_rate_keys(cls, number_type: str, country: str) -> tuple[str, ...]:
        """§2.9 [KAZOO]: plans price numbers by classifier, per country (`did_us`,
        `tollfree_us`), or for every country (`did`, `tollfree`, Kazoo's `toll_free`)."""
        country = country.lower()
        if number_type == "toll_free":
            return (f"tollfree_{country}", "tollfree", "toll_free")
        return (f"did_{country}", "did")

    def auth_headers(self) -> dict[str, str]:
        # SEED-000: the API key itself, no token exchange (§5.4).
        return {"X-Auth-Token": self.account.secret}

    def error_code(self, body: Any) -> str:
        """Family R and the Stripe-like shape carry `error.code`; in Kazoo's `error` is
        the status as a string and the code is the `message` category (§3, §5.8)."""
        if not isinstance(body, Mapping):
            return ""
        error = body.get("error")
        code = error.get("code") if isinstance(error, Mapping) else body.get("message")
        return code if isinstance(code, str) else ""

    def error_message(self, body: Any) -> str:
        if not isinstance(body, Mapping):
            return ""
        error, data = body.get("error"), body.get("data")
        source = error if isinstance(error, Mapping) else data
        message = source.get("message") if isinstance(source, Mapping) else None
        return message if isinstance(message, str) else ""

    # --- numbers (family R) -----------------------------------------------------------

    def iter_owned_numbers(self) -> Iterator[OwnedNumber]:
        guard = PageGuard(self.name, "numbers")  # `total` may promise more for ever
        offset = 0
        while True:
            body = self.request("GET", "/numbers", params={"limit": PAGE_SIZE, "offset": offset})
            page = self._rest_data(body, "numbers")
            items, total = page.list("numbers"), page.int("total")
            for index, item in enumerate(guard.page(items)):
                yield self._owned_from_rest(self._reader(item, f"numbers[{offset + index}]"))
            # Advance by what came back, not by `limit`: a short page then loses nothing.
            # An empty page ends the walk even when `total` promises more.
            offset += len(items)
            if not items or offset >= total:
                return

    def get_number(self, number: str) -> OwnedNumber:
        """By Audian id (`num_…`, GET /v2/numbers/{id}, SEED-000) or by E.164 through the
        Kazoo path keyed by number (§2.2-K), which needs no id but carries none either."""
        if number.startswith("+"):
            path = f"{self._account_path}/phone_numbers/{quote(number, safe='')}"
            data = self._kazoo_envelope(self.request("GET", path), "number").object("data")
            return self._owned_from_kazoo(data)
        body = self.request("GET", f"/numbers/{quote(number, safe='')}")
        return self._owned_from_rest(self._rest_data(body, "number"))

    def search_available(self, query: SearchQuery) -> list[AvailableNumber]:
        """§2.3-R. The search has no type filter (Audian's numbers carry no type: it is the
        number's own), so the query is checked here, reading on until `query.limit` offers
        match or the inventory ends."""
        return first_matching(query, self._iter_offers(query))

    def purchase(
        self, number: str, *, label: str = "", quote: AvailableNumber | None = None
    ) -> OwnedNumber:
        """SEED-000: a flat body; Audian takes no price, so a quote is not sent. It fills in
        what the purchase response leaves out (setup fee, capabilities, location)."""
        body = {"number": number, **({"friendly_name": label} if label else {})}
        response = self.request("POST", "/numbers/purchase", json=body)
        owned = self._owned_from_rest(self._rest_data(response, "purchase"))
        if quote is None or quote.number != owned.number:
            return owned
        return replace(
            owned,
            setup_fee=quote.setup_fee,
            monthly_fee=owned.monthly_fee if owned.monthly_fee is not None else quote.monthly_fee,
            capabilities=owned.capabilities or quote.capabilities,
            region=owned.region or quote.region,
        )

    def update_label(self, number: OwnedNumber, label: str) -> OwnedNumber:
        """§2.5-R: PUT /v2/numbers/{id}/config with `friendly_name`."""
        number_id = self._number_id(number)
        body = self.request(
            "PUT", f"/numbers/{quote(number_id, safe='')}/config", json={"friendly_name": label}
        )
        config = self._rest_data(body, "config")
        return replace(number, upstream_id=number_id, label=config.str("friendly_name", ""))

    def release(self, number: OwnedNumber) -> None:
        """§2.6-R [INFERRED]: DELETE /v2/numbers/{id}, answered 200 with a body or 204."""
        number_id = self._number_id(number)
        body = self.request("DELETE", f"/numbers/{quote(number_id, safe='')}", allow_empty=True)
        if body is not None:
            self._rest_data(body, "release")

    # --- billing (family K) -----------------------------------------------------------

    def get_balance(self) -> Balance:
        """SEED-001's /balance; §5.5: where it is missing, Kazoo's current_balance."""
        try:
            body = self.request("GET", f"{self._account_path}/balance")
        except errors.NotFound:
            body = self.request("GET", f"{self._account_path}/transactions/current_balance")
        data = self._kazoo_envelope(body, "balance").object("data")
        return Balance(amount=data.money("balance"), currency=data.currency("currency", CURRENCY))

    def iter_transactions(self, since: datetime | None = None) -> Iterator[UpstreamTransaction]:
        """SEED-001 documents no filter; Kazoo's `created_from` (Gregorian seconds, §2.8-K)
        is sent, and `since` is applied here too in case the upstream ignores it."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        params = {}
        if since is not None:
            params["created_from"] = int(since.timestamp()) + parsing.GREGORIAN_TO_UNIX
        path = f"{self._account_path}/transactions"
        for index, item in enumerate(
            self._kazoo_items(path, params, "transactions", kind="transactions")
        ):
            transaction = self._transaction(self._reader(item, f"transactions[{index}]"))
            if since is None or transaction.occurred_at >= since:
                yield transaction

    def list_service_plans(
        self, *, endpoints: OptionalEndpoints = CALL_EVERY_TIME
    ) -> list[ServicePlan]:
        """§2.9: the list names the plans; each plan's document holds its number rates.
        That document is a Kazoo endpoint Audian does not publish, so an account may not
        offer it: it is read through `endpoints`, and a plan whose document is not offered
        comes without rates rather than taking the list down with it."""
        path = f"{self._account_path}/service_plans"
        plans = []
        for index, item in enumerate(self._kazoo_items(path, {}, "service_plans", kind="plans")):
            summary = self._reader(item, f"service_plans[{index}]")
            plan_id = summary.str("id")
            rates = endpoints.read(
                Endpoint.SERVICE_PLAN_DETAILS, partial(self._plan_rates, plan_id), default={}
            )
            plans.append(
                ServicePlan(
                    upstream_id=plan_id,
                    name=summary.str("name", plan_id),
                    description=summary.str("description", ""),
                    rates=rates,
                )
            )
        return plans

    # --- call records (§2.8-C, priced by the §2.8-K ledger) -----------------------------

    def iter_calls(self, since: datetime | None, until: datetime) -> Iterator[UpstreamCall]:
        """§2.8-C: `GET …/cdrs` with `created_from`/`created_to` in Unix seconds (what the
        Audian page says; Kazoo includes both ends, so the last second before `until`),
        paged by start_key. A CDR carries no cost: each comes unpriced, in the account's
        currency, and `price_calls` reads its cost from the ledger."""
        since, until = aware(since), aware(until)
        params: dict[str, Any] = {"created_to": unix_ceil(until) - 1, "page_size": PAGE_SIZE}
        if since is not None:
            params["created_from"] = unix_floor(since)
        path = f"{self._account_path}/cdrs"
        for index, item in enumerate(self._kazoo_items(path, params, "cdrs", kind="calls")):
            call = self._call(self._reader(item, f"cdrs[{index}]"))
            if in_window(call.started_at, since, until):
                yield call

    def price_calls(self, calls: Sequence[tuple[str, datetime]]) -> dict[str, CallPrice]:
        """§2.8-C: a call's cost is its entry in the `per-minute-voip` ledger (§2.8-K),
        which names the call in `source.id`. The ledger is read over the span of the calls
        asked for (and a day past the last, as an entry may be dated when the call ended),
        keeping only the entries of those calls; a call without its entry yet is left out,
        to be asked again. Several entries for one call add up to its cost."""
        wanted = {call_id: aware(started) for call_id, started in calls}
        if not wanted:
            return {}
        params = {
            "created_from": unix_floor(min(wanted.values())),
            "created_to": unix_ceil(max(wanted.values()) + LEDGER_ENTRY_LAG),
            "page_size": PAGE_SIZE,
        }
        path = f"{self._account_path}/ledgers/per-minute-voip"
        prices: dict[str, CallPrice] = {}
        entries = self._kazoo_items(path, params, "per-minute-voip", kind="transactions")
        for index, item in enumerate(entries):
            entry = self._reader(item, f"per-minute-voip[{index}]")
            call_id = entry.object("source").str("id")
            if call_id not in wanted:
                continue
            # §4: the ledger's unit is not stated (Kazoo stores 1/10,000 dollar internally,
            # [INFERRED]); every other Audian amount is in dollars, and the transactions
            # that bill the same calls are read as dollars too. A debit is negative.
            cost = abs(entry.money("amount"))
            usage = entry.object("usage", required=False)
            billed = None
            if usage is not None and usage.str("unit", "") in ("sec", "seconds", "s"):
                billed = seconds(usage, "quantity", default=None)
            earlier = prices.get(call_id)
            if earlier is not None:
                cost += earlier.cost
                billed = (
                    None
                    if billed is None or earlier.billed_seconds is None
                    else (billed + earlier.billed_seconds)
                )
            prices[call_id] = CallPrice(
                cost=cost, currency=self.account.currency or CURRENCY, billed_seconds=billed
            )
        return prices

    def _call(self, cdr: Reader) -> UpstreamCall:
        """§2.8-C's CDR. The ledger names a call by its `call_id` (Kazoo's CDR schema: the
        required, unique id of the call leg), not by `id`, the CDR document's own key
        (Kazoo keys it by month and call id): per-minute usage is rated while the call runs,
        before any CDR document exists, so only the call id can name it. The call's id is
        therefore `call_id`. `call_direction`, where present, is relative to Kazoo's media
        switch rather than the account (Kazoo's CDR schema), so no direction is given: the
        sync tells it from which party is the account's number. `timestamp` may be Unix
        (the Audian example) or Gregorian seconds (Kazoo, §4)."""
        return UpstreamCall(
            upstream_id=cdr.str("call_id"),
            started_at=cdr.datetime("timestamp"),
            from_number=party(cdr, "caller_id_number"),
            to_number=party(cdr, "callee_id_number"),
            status=cdr.str("hangup_cause", ""),
            duration_seconds=seconds(cdr, "duration_seconds"),
            billed_seconds=seconds(cdr, "billing_seconds", default=None),
            currency=self.account.currency or CURRENCY,
        )

    # --- requests and envelopes -------------------------------------------------------

    @property
    def _account_path(self) -> str:
        return f"/accounts/{quote(self.account.upstream_account_id, safe='')}"

    def _reader(self, value: Any, where: str) -> Reader:
        return Reader(value, where, provider=self.name)

    def _unexpected(self, where: str, problem: str, value: Any) -> errors.UnexpectedResponse:
        return errors.UnexpectedResponse(
            f"{where}: {problem}", provider=self.name, excerpt=parsing.excerpt(value)
        )

    def _rest_data(self, body: Any, where: str) -> Reader:
        """Family R's `{"success": true, "data": {...}}`."""
        envelope = self._reader(body, where)
        if not envelope.bool("success"):
            raise self._unexpected(where, "success is false in a 2xx response", body)
        return envelope.object("data")

    def _kazoo_envelope(self, body: Any, where: str) -> Reader:
        """Kazoo's envelope: `data` plus `status` ("success"); `auth_token` is not kept."""
        envelope = self._reader(body, where)
        if envelope.str("status", "success") != "success":
            raise self._unexpected(where, "status is not success in a 2xx response", body)
        return envelope

    def _kazoo_items(self, path: str, params: dict, where: str, *, kind: str) -> Iterator[Any]:
        """The items of a Kazoo list of `kind`. Audian documents no paging for these, but
        Crossbar pages every list with start_key/next_start_key (§5.7), so a cursor is
        followed: never to a page already read (a cursor that cycles A → B → A), and not
        past the kind's ceiling of rows (PageGuard)."""
        guard = PageGuard(self.name, kind)
        params = dict(params)
        while True:
            # Streamed: SEED-001's ledger is one bare array, the whole history in one answer.
            body = yield from guard.page(
                self.stream_list(
                    path,
                    kind=kind,
                    params=params,
                    check=lambda body: self._kazoo_envelope(body, where),
                )
            )
            envelope = self._kazoo_envelope(body, where)
            next_key = envelope.raw("next_start_key")
            if not next_key:
                return
            guard.follow(next_key)
            params["start_key"] = next_key

    def _number_id(self, number: OwnedNumber) -> str:
        """Family R addresses numbers by id; a record without one is looked up by listing."""
        if number.upstream_id:
            return number.upstream_id
        for owned in self.iter_owned_numbers():
            if owned.number == number.number:
                return owned.upstream_id
        raise errors.NotFound(f"{number.number} is not on this account", provider=self.name)

    # --- records ----------------------------------------------------------------------

    def _strings(self, reader: Reader, key: str) -> frozenset[str]:
        values = reader.list(key, required=False)
        if not all(isinstance(value, str) for value in values):
            raise self._unexpected(f"{reader.where}.{key}", "expected a list of text", values)
        return frozenset(values)

    def _owned_from_rest(self, number: Reader) -> OwnedNumber:
        """SEED-000's number object; `billing` comes only with purchase and details."""
        e164 = number.e164("number")
        billing = number.object("billing", required=False)
        return OwnedNumber(
            number=e164,
            status=number.term("status", NUMBER_STATUS),
            currency=CURRENCY,
            upstream_id=number.str("id"),
            label=number.str("friendly_name", ""),
            country=country_of(e164),
            number_type=number_type_of(e164),
            monthly_fee=billing.money("monthly_cost", required=False) if billing else None,
            purchased_at=number.datetime("purchased_at", required=False),
        )

    def _owned_from_kazoo(self, document: Reader) -> OwnedNumber:
        """§2.2-K: keyed by E.164, `state` at the top or under `_read_only`, Gregorian
        `created`; a label only as the `friendly_name` public field (§2.5-K)."""
        e164 = document.e164("id")
        read_only = document.object("_read_only", required=False)
        state_holder = read_only if read_only and not document.has("state") else document
        return OwnedNumber(
            number=e164,
            status=state_holder.term("state", NUMBER_STATUS),
            currency=CURRENCY,
            label=document.str("friendly_name", ""),
            country=country_of(e164),
            number_type=number_type_of(e164),
            capabilities=self._strings(document, "features") & frozenset(NUMBER_CAPABILITIES),
            purchased_at=read_only.datetime("created", required=False) if read_only else None,
        )

    def _iter_offers(self, query: SearchQuery) -> Iterator[AvailableNumber]:
        params = self._search_params(query)
        guard = PageGuard(self.name, "inventory")
        offset = 0
        while True:
            page = self._rest_data(
                self.request("GET", "/numbers/search", params={**params, "offset": offset}),
                "search",
            )
            items, total = page.list("numbers"), page.int("total")
            for index, item in enumerate(guard.page(items)):
                offer = self._reader(item, f"search.numbers[{offset + index}]")
                if offer.bool("available", True):
                    yield self._offer(offer, query)
            offset += len(items)
            if not items or offset >= total:
                return

    @staticmethod
    def _search_params(query: SearchQuery) -> dict[str, Any]:
        """§2.3-R: `location` codes such as US-CA-415 name country and state; an area code
        and the digits wanted go in the `pattern` glob (`415*`)."""
        area, contains = query.area.strip(), query.contains.strip()
        location = query.country.upper()
        if area.isalpha():
            location += f"-{area.upper()}"
            area = ""
        params: dict[str, Any] = {
            "location": location,
            "limit": max(1, min(query.limit, PAGE_SIZE)),
        }
        if area or contains:
            params["pattern"] = f"{area}*{contains}*" if contains else f"{area}*"
        if query.capabilities:
            # §2.3-R leaves the array encoding open; the comma form is one value.
            params["features"] = ",".join(sorted(query.capabilities))
        return params

    def _offer(self, offer: Reader, query: SearchQuery) -> AvailableNumber:
        e164 = offer.e164("number")
        price = offer.object("price")
        return AvailableNumber(
            number=e164,
            currency=CURRENCY,
            country=country_of(e164) or query.country.upper(),
            region=offer.str("location", ""),
            number_type=number_type_of(e164),
            capabilities=self._strings(offer, "features") & frozenset(NUMBER_CAPABILITIES),
            setup_fee=price.money("setup", required=False),
            monthly_fee=price.money("monthly"),
        )

    def _transaction(self, item: Reader) -> UpstreamTransaction:
        """SEED-001's item (`created` ISO text or Kazoo Gregorian seconds, §4) or family
        R's (`created_at`, `currency`, `reference`, §2.8-R)."""
        kind = item.term("type", TRANSACTION_KIND)
        amount = abs(item.money("amount"))  # §2.8-K: the direction is in `type`
        occurred_at = item.datetime("created" if item.has("created") else "created_at")
        description = item.str("description", "")
        metadata = item.object("metadata", required=False)
        number = metadata.e164("phone_number") if metadata and metadata.has("phone_number") else ""
        return UpstreamTransaction(
            upstream_id=item.str("id", "")
            or parsing.stable_id(kind, amount, occurred_at.isoformat(), description),
            kind=kind,
            amount=amount,
            currency=item.currency("currency", CURRENCY),
            occurred_at=occurred_at,
            description=description,
            number=number,
            reference=item.str("reference", ""),
        )

    def _plan_rates(self, plan_id: str) -> dict[str, dict[str, str]]:
        """§2.9 [KAZOO]: `plan.phone_numbers.{classifier}` with `rate` (monthly) and
        `activation_charge` (one-time), in dollars; kept as decimal strings."""
        path = f"{self._account_path}/service_plans/{quote(plan_id, safe='')}"
        data = self._kazoo_envelope(self.request("GET", path), "service plan").object("data")
        plan = data.object("plan", required=False)
        classifiers = plan.object("phone_numbers", required=False) if plan else None
        if classifiers is None:
            return {}
        rates = {}
        for classifier in classifiers.value:
            item = classifiers.object(classifier)
            rate = {"name": item.str("name", classifier)}
            for key in ("rate", "activation_charge"):
                if item.has(key):
                    rate[key] = str(item.money(key))
            rates[classifier] = rate
        return rates
