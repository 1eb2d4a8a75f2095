"""How the sandbox's seeded world is made: the numbers for sale, the numbers each account
holds with the labels a reseller gives them (its customers and cost centres), and six
months of billing that adds up to the account's balance.

Everything is drawn from one `random.Random`, so one seed always gives one world; nothing
here reads the clock. Kept fast: a benchmark generates 100,000 numbers and 200,000 ledger
rows in a few seconds.
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

LEDGER_MONTHS = 6
MAX_TOP_UPS = 52  # about twice a week over the six months, however long the ledger
OWNED_FOR = (86400, 540 * 86400)  # how many seconds ago a seeded number was bought
DASH = "\u2013"  # an en dash: "Acme Dental", en dash, "front desk"

CUSTOMERS = (
    "Acme Dental",
    "Bluebird Logistics",
    "Riverside Clinic",
    "Northwind Traders",
    "Harbor View Realty",
    "Summit Physiotherapy",
    "Greenleaf Grocers",
    "Pinecrest Veterinary",
    "Lakeside Law",
    "Maple Street Bakery",
    "Orion Security",
    "Cedar Ridge School",
    "Brightside Pharmacy",
    "Copperline Plumbing",
    "Silver Oak Hotel",
    "Redwood Motors",
    "Blue Harbor Insurance",
    "Evergreen Family Practice",
    "Crescent Yoga",
    "Keystone Accounting",
    "Atlas Freight",
    "Nova Telecare",
    "Willow Creek Farm",
    "Metro Cabs",
    "Sunrise Daycare",
    "Parkside Opticians",
    "Fairway Golf Club",
    "Hillcrest Dental Lab",
)
INDIAN_CUSTOMERS = (
    "Kaveri Hospital",
    "Sharma Textiles",
    "Lotus Diagnostics",
    "Mysore Silk House",
    "Deccan Logistics",
    "Ganga Travels",
    "Sahyadri Realty",
    "Annapurna Caterers",
    "Vidya Coaching Centre",
    "Malabar Spices",
    "Nilgiri Tea Traders",
    "Shree Ganesh Motors",
)
LINES = (
    "front desk",
    "reception",
    "support",
    "sales",
    "after hours",
    "billing",
    "main line",
    "bookings",
    "branch 2",
    "warehouse",
)
DEPARTMENTS = ("Sales", "Support", "Billing", "Marketing", "Operations", "IT helpdesk", "HR")
USAGE = ("Outbound calls", "Outbound calls", "Inbound calls", "SMS")
MONEY_QUANTUM = Decimal("0.0001")
TOP_UP_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5))  # 50, 100, 250, 500, …


class Charge(NamedTuple):
    """A ledger row before it has an id: `amount` is a magnitude, `kind` its direction,
    `when` a naive UTC time (see `stamp`)."""

    when: datetime
    kind: str
    amount: Decimal
    description: str
    e164: str = ""
    call_id: str = ""  # the call a usage row bills (sandbox.calls), "" for any other row


def new_number(rng, entry, used: set[str], updated_at: str) -> dict:
    """A number of catalog `entry` that is not in `used` (and is then), for sale."""
    low, high = 2 * 10 ** (entry.digits - 1), 10**entry.digits  # never starting 0 or 1
    while (e164 := f"{entry.prefix}{rng.randrange(low, high)}") in used:
        pass
    used.add(e164)
    setup_fee, monthly_fee = _fees(entry)
    return {
        "e164": e164,
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "country": entry.country,
        "region": entry.region,
        "type": entry.number_type,
        "capabilities": list(entry.capabilities),
        "setup_fee": setup_fee,
        "monthly_fee": monthly_fee,
        "status": "available",
        "label": "",
        "purchased_at": None,
        "released_at": None,
        "updated_at": updated_at,
    }


def owned_numbers(rng, entries, count: int, used: set[str], anchor: datetime) -> list[dict]:
    """`count` numbers bought over the last year and a half, about half of them labelled
    after the reseller's customers ("Bluebird Logistics", "Acme Dental - front desk" with
    an en dash) or cost centres ("CC-2210 Sales")."""
    labels = Labeller(rng, count)
    updated_at, now = iso(anchor), _naive(anchor)
    numbers = []
    for index in range(count if entries else 0):
        record = new_number(rng, entries[index % len(entries)], used, updated_at)
        bought = now - timedelta(seconds=rng.randint(*OWNED_FOR))
        record.update(status="active", purchased_at=stamp(bought), label=labels.next(record))
        numbers.append(record)
    return numbers


class Labeller:
    """Labels from one account's customers, each with several numbers, and cost centres."""

    def __init__(self, rng, count: int):
        self.rng = rng
        size = max(4, count // 6)
        self.customers = rng.sample(CUSTOMERS, min(size, len(CUSTOMERS)))
        self.indian = rng.sample(INDIAN_CUSTOMERS, min(size, len(INDIAN_CUSTOMERS)))
        self.cost_centres = [
            f"CC-{rng.randint(1000, 9999)} {rng.choice(DEPARTMENTS)}"
            for _ in range(max(2, min(8, count // 20)))
        ]

    def next(self, record: dict) -> str:
        roll = self.rng.random()
        if roll < 0.5:
            return ""
        if roll < 0.85:
            customers = self.indian if record["country"] == "IN" else self.customers
            customer = self.rng.choice(customers)
            if self.rng.random() < 0.5:
                return f"{customer} {DASH} {self.rng.choice(LINES)}"
            return customer
        return self.rng.choice(self.cost_centres)


def ledger(
    rng,
    owned: list[dict],
    count: int,
    anchor: datetime,
    balance: Decimal,
    usage: list[Charge] | None = None,
):
    """`count` ledger rows (Charges, oldest first) over the six months before `anchor`:
    the monthly rental of held numbers on each renewal date, the setup fee of those bought
    in that time, usage lines every month and now and then a top-up. The top-ups are sized
    so that the balance never goes below zero and ends at `balance`.

    When the rentals of every number do not fit in `count`, whole histories of some
    numbers do (each billed month after month, so monthly totals stay steady); usage fills
    what is left. `usage`, when given (the charges of the account's call records), replaces
    the generic usage lines: rentals fill `count` and the calls' rows come on top."""
    if count <= 0 and not usage:
        return []
    anchor = _naive(anchor)
    start = add_months(anchor, -LEDGER_MONTHS)
    rows = count + len(usage or ())
    top_ups = min(max(1, rows // 20), MAX_TOP_UPS) if rows >= 2 else 0
    wanted = count - top_ups
    # At least one generic usage line a month; the calls' rows, when given, are usage enough.
    room = wanted - min(wanted, LEDGER_MONTHS) if usage is None else max(wanted, 0)
    charges: list[Charge] = []
    for record in rng.sample(owned, len(owned)):
        history = _rentals(record, start, anchor)
        if len(history) > room:
            break
        charges += history
        room -= len(history)
    if usage is None:
        charges += _usage(rng, owned, wanted - len(charges), start, anchor)
    else:
        charges += usage
    charges.sort(key=lambda charge: charge.when)
    top_ups = min(top_ups, len(charges))  # one stretch of charges per top-up at least
    return _with_top_ups(rng, charges, top_ups, Decimal(balance))


def _rentals(record: dict, start: datetime, end: datetime) -> list[Charge]:
    """A number's setup fee (when bought since `start`) and its rental on every monthly
    renewal date from `start` to `end`, as a purchase charges them."""
    bought = _bought(record)
    e164, monthly = record["e164"], Decimal(record["monthly_fee"])
    charges = []
    if bought >= start and Decimal(record["setup_fee"]):
        charges.append(
            Charge(bought, "debit", Decimal(record["setup_fee"]), "Number setup fee", e164)
        )
    months = max(0, (start.year - bought.year) * 12 + start.month - bought.month - 1)
    while (due := add_months(bought, months)) <= end:
        if due >= start:
            charges.append(Charge(due, "recurring", monthly, "Monthly number rental", e164))
        months += 1
    return charges


def _usage(rng, owned: list[dict], count: int, start: datetime, end: datetime):
    """`count` usage lines spread evenly over the months, each of a number held then (or
    of the account), worth up to twice that number's monthly fee, to 1/10,000."""
    month = (end - start) / LEDGER_MONTHS
    bought = [_bought(record) for record in owned]
    charges = []
    for index in range(count):
        when = start + (index % LEDGER_MONTHS + rng.random()) * month
        when = when.replace(microsecond=0)
        e164, fee = "", Decimal(1)
        for _ in range(3 if owned else 0):
            pick = rng.randrange(len(owned))
            if bought[pick] <= when:
                e164, fee = owned[pick]["e164"], Decimal(owned[pick]["monthly_fee"])
                break
        amount = Decimal(rng.randint(1, max(1, int(fee * 20000)))).scaleb(-4)
        charges.append(Charge(when, "usage", amount, rng.choice(USAGE), e164))
    return charges


def _with_top_ups(rng, charges: list[Charge], count: int, balance: Decimal) -> list[Charge]:
    """`charges` with `count` top-ups among them, one in each equal stretch, each just
    before a charge. Sized walking back from the final `balance`: a top-up leaves what the
    account held before it low but never negative."""
    rows = list(charges)
    total = len(charges)
    for index in reversed(range(count)):
        first, end = index * total // count, (index + 1) * total // count
        position = rng.randrange(first, end)
        after = charges[position].when
        before = charges[position - 1].when if position else after - timedelta(days=2)
        when = before + timedelta(seconds=rng.randint(0, int((after - before).total_seconds())))
        rows.insert(position, Charge(when, "credit", Decimal(0), "Top-up"))
    held = balance  # what the account holds after the row being looked at
    for index in reversed(range(len(rows))):
        row = rows[index]
        if row.kind == "credit":
            rows[index] = row._replace(amount=_top_up(rng, held))
            held -= rows[index].amount
        else:
            held += row.amount
    return rows


def _top_up(rng, after: Decimal) -> Decimal:
    """A round amount (50, 100, 250, 500, 1,000, …) leaving 5% to 60% of `after` as what
    was there before it."""
    target = after * rng.randint(70, 95) / 100
    if target < 1:
        return max(after, Decimal(0))  # a nearly empty account: the top-up is all it holds
    scale = Decimal(10) ** (len(str(int(target))) - 1)
    return max(step * scale for step in TOP_UP_STEPS if step * scale <= target)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (or earlier); 31 January + 1 month is the last
    day of February."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def _bought(record: dict) -> datetime:
    return _naive(datetime.fromisoformat(record["purchased_at"]))


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def stamp(moment: datetime) -> str:
    """`iso` for a naive UTC time, at half the cost: generation writes a lot of them."""
    return moment.isoformat() + "Z"


@functools.cache
def _fees(entry) -> tuple[str, str]:
    return money(entry.setup_fee), money(entry.monthly_fee)


def iso(moment: datetime) -> str:
    """How the state writes a time: ISO 8601 in UTC with a `Z`."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def money(value) -> str:
    """How the state writes an amount: a decimal string to 1/10,000."""
    return str(Decimal(value).quantize(MONEY_QUANTUM))
