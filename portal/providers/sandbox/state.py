"""The sandbox's world: accounts, their owned numbers, each provider's inventory, ledgers.

Provider-neutral: records are plain dicts in snake_case with money as decimal strings, and
every provider module (`portal/providers/`) renders them in its own documented
shapes. Everything is generated from a seed (`world.py`), so the same seed and sizes give the
same world; every change is written to the state file, so a restarted sandbox keeps what
was bought.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import json
import os
import random
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from portal.providers.sandbox import world
from portal.providers.sandbox.call_state import CallRecords, call_row_id
from portal.providers.sandbox.world import iso, money

STATE_VERSION = 1


class SandboxError(Exception):
    """A business failure a provider module turns into its documented error body."""

    NUMBER_UNAVAILABLE = "number_unavailable"
    NOT_IN_INVENTORY = "not_in_inventory"
    NOT_OWNED = "not_owned"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    REGION_NOT_ALLOWED = "region_not_allowed"
    INVALID_NUMBER = "invalid_number"
    PRICE_MISMATCH = "price_mismatch"

    def __init__(self, kind: str, message: str, **details):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details


@dataclass(frozen=True)
class CatalogEntry:
    """A block of numbers a provider sells: where, what kind, and at what price."""

    country: str
    region: str
    prefix: str  # E.164 prefix the generated numbers start with, e.g. "+1415"
    digits: int  # how many random digits follow the prefix
    number_type: str = "local"
    setup_fee: str = "0"
    monthly_fee: str = "1"
    capabilities: tuple[str, ...] = ("voice", "sms")


@dataclass
class SandboxAccount:
    provider: str
    account_id: str
    secret: str
    currency: str = "USD"
    balance: str = "500"
    allowed_countries: list[str] = field(default_factory=list)  # empty: every country
    name: str = ""

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.account_id}"


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.contextmanager
def _no_cyclic_gc():
    """Generation builds hundreds of thousands of small dicts and no reference cycles:
    the cycle collector would only rescan them again and again (a fifth of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class SandboxState(CallRecords):
    """All sandbox data behind one lock. Handlers call the methods below; each mutation
    is saved to `path` (when given) before it returns."""

    def __init__(self, data: dict, path: Path | None = None):
        self.data = data
        self.path = path
        self.lock = threading.RLock()
        self._views: dict[tuple, list[str]] = {}  # see _view

    # --- creation and persistence -------------------------------------------------------

    @classmethod
    @_no_cyclic_gc()
    def generate(
        cls,
        catalogs: dict[str, Iterable[CatalogEntry]],
        accounts: Iterable[SandboxAccount],
        *,
        seed: int = 1,
        numbers: int = 25,
        transactions: int = 40,
        inventory: int = 30,
        calls: int = 0,
        path: Path | None = None,
        now: datetime | None = None,
    ) -> SandboxState:
        """A new world: for each account `numbers` owned numbers, about half of them
        labelled, and `transactions` ledger rows of the last six months that end at the
        account's balance (see `portal.providers.sandbox.world`); for each catalog entry `inventory`
        numbers for sale, a tenth of them already taken by someone else (buying one answers
        "unavailable"). With `calls`, each account also holds that many call records of the
        ~13 months before now (`sandbox.calls`); where the provider bills calls in its
        ledger, their ledger rows replace the generic usage lines."""
        anchor = (now or _now()).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        rng = random.Random(seed)
        data = {
            "version": STATE_VERSION,
            "seed": seed,
            "anchor": iso(anchor),
            "accounts": {},
            "owned": {},
            "inventory": {},
            "taken": {},
            "transactions": {},
            "purchases": {},
            "extensions": {},
            "calls": {},
            "unpriced_calls": {},
        }
        state = cls(data, path)
        used: set[str] = set()
        listed_at = iso(anchor)
        catalogs = {slug: list(entries) for slug, entries in catalogs.items()}
        for slug, entries in catalogs.items():
            data["inventory"][slug] = {}
            data["taken"][slug] = []
            for entry in entries:
                for index in range(inventory):
                    record = world.new_number(rng, entry, used, listed_at)
                    if index % 10 == 9:
                        data["taken"][slug].append(record["e164"])
                    else:
                        data["inventory"][slug][record["e164"]] = record
        for account in accounts:
            entries = catalogs.get(account.provider, [])
            owned = state._add_account(account, rng, entries, used, anchor, numbers)
            key, balance = account.key, Decimal(account.balance)
            usage = state._seed_calls(account, owned, calls, anchor) if calls > 0 else None
            for row in world.ledger(rng, owned, transactions, anchor, balance, usage):
                state._append_transaction(
                    key,
                    row.kind,
                    row.amount,
                    row.description,
                    row.e164,
                    world.stamp(row.when),
                    call_id=row.call_id,
                )
        return state

    @classmethod
    def load(cls, path: Path) -> SandboxState:
        data = json.loads(Path(path).read_text())
        if data.get("version") != STATE_VERSION:
            raise ValueError(
                f"{path}: sandbox state version {data.get('version')} is not supported"
            )
        data.setdefault("extensions", {})  # a state file written before there were any
        data.setdefault("calls", {})
        data.setdefault("unpriced_calls", {})
        return cls(data, Path(path))

    def save(self):
        """Write the state file (when there is one). Every change ends here, so this is
        also where cached views of the data are forgotten."""
        with self.lock:
            self._views.clear()
            if self.path is None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves half a file.
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".sandbox-", suffix=".json")
            with os.fdopen(fd, "w") as handle:
                json.dump(self.data, handle, separators=(",", ":"))
            os.replace(tmp, self.path)

    # --- generation helpers -------------------------------------------------------------

    def _add_account(self, account, rng, entries, used, anchor, owned_count) -> list[dict]:
        self.data["accounts"][account.key] = asdict(account)
        self.data["transactions"][account.key] = []
        self.data["purchases"][account.key] = 0
        owned = world.owned_numbers(rng, entries, owned_count, used, anchor)
        self.data["owned"][account.key] = {record["e164"]: record for record in owned}
        return owned

    def _append_transaction(
        self, key, kind, amount, description, number, created_at: str, call_id: str = ""
    ):
        ledger = self.data["transactions"][key]
        # Rows taken back (`withhold_call_prices`) still count, so no id is given twice.
        position = len(ledger) + self.data.get("taken_back", {}).get(key, 0)
        digest = hashlib.sha1(f"{key}:{position}".encode(), usedforsecurity=False)
        row = {
            "id": call_row_id(key, call_id) if call_id else f"txn_{digest.hexdigest()[:16]}",
            "kind": kind,
            "amount": money(amount),
            "currency": self.data["accounts"][key]["currency"],
            "description": description,
            "e164": number,
            "created_at": created_at,
        }
        if call_id:  # the call record this row bills (sandbox.calls.LEDGER_PROVIDERS)
            row["call_id"] = call_id
        ledger.append(row)
        return row

    # --- reads --------------------------------------------------------------------------

    @property
    def seed(self) -> int:
        return self.data["seed"]

    @property
    def anchor(self) -> datetime:
        """When the world was generated (to the hour): seeded dates lie before it."""
        return datetime.fromisoformat(self.data["anchor"])

    def accounts(self, provider: str | None = None) -> list[dict]:
        """The accounts (of one provider, or all), as copies."""
        with self.lock:
            return [
                dict(record)
                for record in self.data["accounts"].values()
                if provider in (None, record["provider"])
            ]

    def account(self, provider: str, account_id: str) -> dict | None:
        return self.data["accounts"].get(f"{provider}:{account_id}")

    def account_by_secret(self, provider: str, secret: str) -> dict | None:
        with self.lock:
            for record in self.data["accounts"].values():
                if record["provider"] == provider and record["secret"] == secret:
                    return record
            return None

    def owned_page(
        self,
        account: dict,
        offset: int = 0,
        limit: int | None = None,
        *,
        include_released: bool = False,
        status: str | None = None,
        country: str | None = None,
        contains: str | None = None,
        from_e164: str | None = None,
        where: Callable[[dict], bool] | None = None,
    ) -> tuple[list[dict], int]:
        """One page of the account's numbers in E.164 order, as copies, and how many
        numbers match in all. Filters: `status` (released ones only with
        `include_released`), `country`, digits the number `contains`, and `where`, a
        predicate that reads (never changes) a record. `from_e164` starts the page at the
        first number at or after it (a cursor); `offset` counts from there.

        The matching numbers are sorted once and kept until the next change, so paging
        through 10,000 numbers copies each record once, not once per page."""
        key = _key(account)
        with self.lock:
            records = self.data["owned"][key]
            wanted = status or None, country.upper() if country else None, contains or None
            listed = self._view(("owned", key, include_released, *wanted), records)
            if where is not None:
                listed = [e164 for e164 in listed if where(records[e164])]
            start = bisect.bisect_left(listed, from_e164) if from_e164 else 0
            page = _window(listed, start + offset, limit)
            return [_copy(records[e164]) for e164 in page], len(listed)

    def owned_numbers(self, account: dict, *, include_released: bool = False) -> list[dict]:
        """All the account's numbers sorted by E.164, as copies (see `owned_page`)."""
        return self.owned_page(account, include_released=include_released)[0]

    def owned_number(self, account: dict, e164: str, *, include_released: bool = False) -> dict:
        with self.lock:
            record = self.data["owned"][_key(account)].get(e164)
            if record is None or (record["status"] == "released" and not include_released):
                raise SandboxError(SandboxError.NOT_OWNED, f"number {e164} is not on this account")
            return _copy(record)

    def inventory_page(
        self,
        provider: str,
        offset: int = 0,
        limit: int | None = None,
        *,
        country: str = "",
        region: str = "",
        contains: str = "",
        number_type: str = "",
        capabilities: Iterable[str] = (),
        where: Callable[[dict], bool] | None = None,
    ) -> tuple[list[dict], int]:
        """One page of the numbers `provider` has for sale in E.164 order, as copies, and
        how many match in all. `region` is a region name or a three-digit area code;
        `where` as in `owned_page`."""
        wanted = (
            country.upper(),
            region.lower(),
            contains,
            number_type,
            tuple(sorted(set(capabilities))),
        )
        with self.lock:
            records = self.data["inventory"][provider]
            listed = self._view(("inventory", provider, *wanted), records)
            if where is not None:
                listed = [e164 for e164 in listed if where(records[e164])]
            return [_copy(records[e164]) for e164 in _window(listed, offset, limit)], len(listed)

    def search_inventory(self, provider: str, **filters) -> list[dict]:
        """Every number `provider` has for sale that matches (see `inventory_page`)."""
        return self.inventory_page(provider, **filters)[0]

    def _view(self, view: tuple, records: dict) -> list[str]:
        """The E.164 numbers of `records` a view's filters select, sorted; cached until
        the next change (`save` forgets them all)."""
        listed = self._views.get(view)
        if listed is None:
            if len(self._views) >= MAX_CACHED_VIEWS:
                self._views.clear()
            matches = _owned_matches if view[0] == "owned" else _inventory_matches
            listed = sorted(e164 for e164, record in records.items() if matches(record, *view[2:]))
            self._views[view] = listed
        return listed

    def balance(self, account: dict) -> Decimal:
        with self.lock:
            return Decimal(self.data["accounts"][_key(account)]["balance"])

    def ledger_version(self, account: dict) -> tuple[int, str | None]:
        """Changes whenever the account's ledger does (it only ever grows): for a provider
        module that renders the whole ledger once and serves many pages of it."""
        with self.lock:
            rows = self.data["transactions"][_key(account)]
            return len(rows), rows[-1]["id"] if rows else None

    def transactions(self, account: dict, since: datetime | None = None) -> list[dict]:
        """Ledger rows at or after `since` (all when None), oldest first, as copies. Times
        are compared as times: a seeded row has whole seconds, a purchase microseconds."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        with self.lock:
            rows = [
                (datetime.fromisoformat(row["created_at"]), row)
                for row in self.data["transactions"][_key(account)]
            ]
            if since is not None:
                rows = [(when, row) for when, row in rows if when >= since]
            rows.sort(key=lambda pair: pair[0])  # stable: rows of one moment keep their order
            return [dict(row) for _, row in rows]

    def purchase_count(self, account: dict) -> int:
        return self.data["purchases"][_key(account)]

    def extension(self, provider: str) -> dict:
        """The provider module's own part of the state (e.g. TryVox's cooling-off), a
        JSON-able dict kept in the state file. Change it under `lock`, then `save()`."""
        with self.lock:
            return self.data["extensions"].setdefault(provider, {})

    # --- writes -------------------------------------------------------------------------

    def buy(
        self,
        account: dict,
        e164: str,
        *,
        label: str = "",
        expected_monthly_fee: Decimal | None = None,
        country: str | None = None,
    ) -> dict:
        """Move a number from the provider's inventory to the account, debiting setup and
        monthly fee and writing both to the ledger. Raises SandboxError for each documented
        refusal; nothing changes when it does."""
        provider, key = account["provider"], _key(account)
        with self.lock:
            if not e164.startswith("+") or not e164[1:].isdigit() or not 8 <= len(e164) <= 16:
                raise SandboxError(SandboxError.INVALID_NUMBER, f"{e164} is not an E.164 number")
            inventory = self.data["inventory"][provider]
            record = inventory.get(e164)
            if record is None:
                if e164 in self.data["taken"][provider] or any(
                    e164 in owned and owned[e164]["status"] != "released"
                    for owned in self.data["owned"].values()
                ):
                    raise SandboxError(
                        SandboxError.NUMBER_UNAVAILABLE, f"number {e164} is no longer available"
                    )
                raise SandboxError(
                    SandboxError.NOT_IN_INVENTORY,
                    f"number {e164} is not in the available inventory",
                )
            if country is not None and country.upper() != record["country"]:
                raise SandboxError(
                    SandboxError.INVALID_NUMBER, f"{e164} is not a number of country {country}"
                )
            allowed = self.data["accounts"][key]["allowed_countries"]
            if allowed and record["country"] not in allowed:
                raise SandboxError(
                    SandboxError.REGION_NOT_ALLOWED,
                    f"numbers in {record['country']} are not enabled on this account",
                )
            monthly = Decimal(record["monthly_fee"])
            if expected_monthly_fee is not None and Decimal(expected_monthly_fee) != monthly:
                raise SandboxError(
                    SandboxError.PRICE_MISMATCH,
                    f"price mismatch: current price is {monthly.normalize()}",
                    current=monthly,
                )
            setup = Decimal(record["setup_fee"])
            balance = Decimal(self.data["accounts"][key]["balance"])
            if setup + monthly > balance:
                raise SandboxError(
                    SandboxError.INSUFFICIENT_FUNDS,
                    f"available credits {balance.normalize()} are below "
                    f"the price {(setup + monthly).normalize()}",
                    balance=balance,
                    charge=setup + monthly,
                )
            now = _now()
            del inventory[e164]
            record.update(
                status="active",
                label=label,
                purchased_at=iso(now),
                released_at=None,
                updated_at=iso(now),
            )
            self.data["owned"][key][e164] = record
            if setup:
                self._post(key, "debit", setup, "Number setup fee", e164, now)
            self._post(key, "recurring", monthly, "Monthly number rental", e164, now)
            self.data["purchases"][key] += 1
            self.save()
            return _copy(record)

    def set_label(self, account: dict, e164: str, label: str) -> dict:
        with self.lock:
            self.owned_number(account, e164)  # raises when not owned
            record = self.data["owned"][_key(account)][e164]
            record.update(label=label, updated_at=iso(_now()))
            self.save()
            return _copy(record)

    def release(self, account: dict, e164: str, *, on_sale: bool = True) -> dict:
        """The number leaves the account (kept as released) and returns to inventory, or,
        with `on_sale=False`, is held back from sale (a cooling-off) until `put_on_sale`
        or `reinstate`."""
        with self.lock:
            self.owned_number(account, e164)
            record = self.data["owned"][_key(account)][e164]
            now = iso(_now())
            record.update(status="released", released_at=now, updated_at=now)
            if on_sale:
                self.data["inventory"][account["provider"]][e164] = _offer(record)
            else:
                self.data["taken"][account["provider"]].append(e164)
            self.save()
            return _copy(record)

    def put_on_sale(self, account: dict, e164: str) -> None:
        """A number the account released with `on_sale=False` goes back on sale."""
        with self.lock:
            record = self._held_back(account, e164)
            self.data["taken"][account["provider"]].remove(e164)
            self.data["inventory"][account["provider"]][e164] = _offer(record)
            self.save()

    def reinstate(self, account: dict, e164: str) -> dict:
        """A number the account released with `on_sale=False` is the account's again,
        active as before."""
        with self.lock:
            record = self._held_back(account, e164)
            self.data["taken"][account["provider"]].remove(e164)
            record.update(status="active", released_at=None, updated_at=iso(_now()))
            self.save()
            return _copy(record)

    def _held_back(self, account: dict, e164: str) -> dict:
        record = self.data["owned"][_key(account)].get(e164)
        if (
            record is None
            or record["status"] != "released"
            or e164 not in self.data["taken"][account["provider"]]
        ):
            raise SandboxError(
                SandboxError.NOT_OWNED, f"number {e164} was not released from this account"
            )
        return record

    def post_transaction(
        self, account: dict, kind: str, amount, description: str, e164: str = ""
    ) -> dict:
        """Charge (debit, recurring, usage) or credit the account now: the balance moves by
        `amount`, a magnitude, and the ledger gets the row, which is returned."""
        if kind not in LEDGER_KINDS:
            raise ValueError(f"unknown ledger kind {kind!r}")
        if Decimal(amount) < 0:
            raise ValueError("amount is a magnitude; the kind says which way it goes")
        with self.lock:
            row = self._post(_key(account), kind, Decimal(amount), description, e164, _now())
            self.save()
            return dict(row)

    def _post(self, key, kind, amount: Decimal, description, e164, when, call_id="") -> dict:
        record = self.data["accounts"][key]
        change = amount if kind == "credit" else -amount
        record["balance"] = money(Decimal(record["balance"]) + change)
        return self._append_transaction(
            key, kind, amount, description, e164, iso(when), call_id=call_id
        )

    # --- test and demo controls ---------------------------------------------------------

    def add_account(self, account: SandboxAccount, *, numbers: int = 0, catalog=()) -> dict:
        """Add an account (tests: a low balance, restricted countries, an empty account)."""
        with self.lock:
            used = {e164 for owned in self.data["owned"].values() for e164 in owned}
            used |= {e164 for inv in self.data["inventory"].values() for e164 in inv}
            rng = random.Random(f"{self.data['seed']}:{account.key}")
            self._add_account(account, rng, list(catalog), used, _now(), numbers)
            self.save()
            return self.data["accounts"][account.key]

    def set_balance(self, account: dict, amount) -> None:
        with self.lock:
            self.data["accounts"][_key(account)]["balance"] = money(amount)
            self.save()


LEDGER_KINDS = ("debit", "credit", "recurring", "usage")
MAX_CACHED_VIEWS = 64


def _key(account: dict) -> str:
    return f"{account['provider']}:{account['account_id']}"


def _window(listed: list, offset: int, limit: int | None) -> list:
    return listed[offset:] if limit is None else listed[offset : offset + limit]


def _owned_matches(record, include_released, status, country, contains) -> bool:
    if record["status"] == "released" and not include_released:
        return False
    return (
        (status is None or record["status"] == status)
        and (country is None or record["country"] == country)
        and (contains is None or contains in record["e164"])
    )


def _inventory_matches(record, country, region, contains, number_type, capabilities) -> bool:
    return (
        (not country or record["country"] == country)
        and (not region or region in (record["region"].lower(), record["e164"][2:5]))
        and (not contains or contains in record["e164"])
        and (not number_type or record["type"] == number_type)
        and set(capabilities) <= set(record["capabilities"])
    )


def _copy(record: dict) -> dict:
    """A number record the caller may change: its only nested value is a list."""
    copied = dict(record)
    copied["capabilities"] = list(record["capabilities"])
    return copied


def _offer(record: dict) -> dict:
    """A released number as the inventory offers it again."""
    offer = _copy(record)
    offer.update(status="available", label="", purchased_at=None, released_at=None)
    return offer
