"""The sandbox's call records: who called which owned number when, for how long, at what
cost. Provider-neutral like the rest of the state; each simulator renders them in its own
documented shape (audian.md §2.8-C, vobiz.md §2.8, ravan.md §2.8, tryvox.md §2.8).

A call is stored compactly, as one JSON list (`FIELDS`), because a benchmark holds 200,000
of them for one account: the state file stays small and a page is read by index.

The calls are skewed per number as a real account's are: about a third of the numbers have
no calls at all or none in the last 90 days, a few are very busy, the rest quiet. Each call
is on a number the account held at the time. Everything is drawn from the `random.Random`
given, so one seed gives one set of calls.
"""

from __future__ import annotations

import bisect
import math
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from portal.providers.sandbox.world import Charge

# One stored call: [id, started (Unix seconds), own number ("" for none), the other party
# ("" for none), direction ("inbound", "outbound", "web"), duration s, billed s, cost].
FIELDS = ("id", "start", "e164", "other", "direction", "duration", "billed", "cost")
HISTORY_DAYS = 395  # about 13 months before the anchor
QUIET_DAYS = 90
BUSY_WEIGHT = 40  # a busy number takes this many times a quiet one's share of the calls
MEAN_DURATION = 150  # seconds
MAX_DURATION = 3600
COST_QUANTUM = Decimal("0.0001")

# Providers whose ledger already bills each call (audian.md §2.8-C: the `per-minute-voip`
# ledger; vobiz.md §2.8: `reference_type` "cdr"): there a call's cost is also a ledger row,
# so usage is never counted twice. Ravan and TryVox have no ledger to post to.
LEDGER_PROVIDERS = frozenset({"audian", "vobiz"})
# Providers whose call listing can lack a price the provider posts later (an Audian CDR
# before its ledger entry; a TryVox call whose detail has no `price` yet).
LATE_PRICE_PROVIDERS = frozenset({"audian", "tryvox"})
# ravan.md §2.8: sessions of channel `web` have no phone number (browser voice agents).
WEB_SESSION_PROVIDERS = frozenset({"ravan"})
WEB_SHARE = 0.05

# Per-minute rates (inbound, outbound) the sandbox bills, in the account's currency:
# vobiz.md §2.8's "Stream session (70s)" debit of 0.9 INR; tryvox.md §2.8's "0.0130";
# ravan.md §2.3's 0.0085/0.0945 per minute plus the $0.07 agent minute (§2.7).
PER_MINUTE = {
    "vobiz": (Decimal("0.45"), Decimal("0.90")),
    "tryvox": (Decimal("0.0065"), Decimal("0.0130")),
    "ravan": (Decimal("0.0785"), Decimal("0.1645")),
}
DEFAULT_PER_MINUTE = (Decimal("0.0085"), Decimal("0.0120"))
RAVAN_AGENT_PER_MINUTE = Decimal("0.07")


def as_dict(row: list) -> dict:
    """A stored call as a dict (`FIELDS`), with `started_at` as an aware datetime."""
    call = dict(zip(FIELDS, row, strict=True))
    call["started_at"] = datetime.fromtimestamp(call["start"], UTC)
    return call


def unix(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return math.floor(moment.timestamp())


def generate(
    rng, provider: str, owned: list[dict], count: int, start: datetime, end: datetime
) -> list[list]:
    """`count` calls between `start` and `end`, sorted by when they started. Numbers held
    for less than the span take calls only from their purchase on; a third of the numbers
    take none (half of those: none in the last `QUIET_DAYS` before `end`)."""
    if count <= 0:
        return []
    lo_all, hi_all = unix(start), unix(end)
    quiet_from = hi_all - QUIET_DAYS * 86400
    spans, weights = [], []
    order = sorted(owned, key=lambda record: record["e164"])
    rng.shuffle(order)
    silent, busy = len(order) // 3, max(1, len(order) // 10) if order else 0
    for position, record in enumerate(order):
        held_from = max(lo_all, unix(datetime.fromisoformat(record["purchased_at"])))
        if position < silent // 2 + silent % 2:
            continue  # never called
        hi = quiet_from if position < silent else hi_all
        if held_from >= hi:
            continue
        spans.append((record["e164"], held_from, hi))
        weights.append(BUSY_WEIGHT if silent <= position < silent + busy else 1)
    web = provider in WEB_SESSION_PROVIDERS
    if not spans and not web:
        return []
    rates = PER_MINUTE.get(provider, DEFAULT_PER_MINUTE)
    cumulative, total = [], 0
    for weight in weights:
        total += weight
        cumulative.append(total)
    calls = []
    for _ in range(count):
        if web and (not spans or rng.random() < WEB_SHARE):
            e164, lo, hi = "", lo_all, hi_all
        else:
            e164, lo, hi = spans[_pick(rng, cumulative, total)]
        started = lo + int(rng.random() * (hi - lo))
        duration = min(MAX_DURATION, 5 + int(rng.expovariate(1 / MEAN_DURATION)))
        billed = math.ceil(duration / 60) * 60
        if not e164:
            direction, other = "web", ""
            cost = (RAVAN_AGENT_PER_MINUTE * billed / 60).quantize(COST_QUANTUM)
        else:
            inbound = rng.random() < 0.5
            direction, other = ("inbound" if inbound else "outbound"), _other(rng, e164)
            rate = rates[0] if inbound else rates[1]
            cost = (rate * billed / 60).quantize(COST_QUANTUM)
        call_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        calls.append([call_id, started, e164, other, direction, duration, billed, str(cost)])
    calls.sort(key=lambda row: (row[1], row[0]))
    return calls


def history_span(anchor: datetime) -> tuple[datetime, datetime]:
    """Where seeded calls lie: the ~13 months before the anchor."""
    return anchor - timedelta(days=HISTORY_DAYS), anchor


def _pick(rng, cumulative: list[int], total: int) -> int:
    """An index drawn by weight: one draw and a bisect per call, for 200,000 calls."""
    return min(bisect.bisect_right(cumulative, rng.random() * total), len(cumulative) - 1)


def _other(rng, e164: str) -> str:
    """A caller or callee outside the account, in the own number's country."""
    if e164.startswith("+91"):
        return f"+91{rng.randint(6, 9)}{rng.randrange(10**8, 10**9)}"
    if e164.startswith("+44"):
        return f"+447{rng.randrange(10**8, 10**9)}"
    area = f"{rng.randint(2, 9)}{rng.randint(0, 8)}{rng.randint(0, 9)}"
    return f"+1{area}{rng.randrange(2 * 10**6, 10**7)}"


def charge(row: list) -> Charge:
    """The ledger row that bills a call (providers in LEDGER_PROVIDERS), at its start."""
    call = as_dict(row)
    what = {"inbound": "Inbound call", "outbound": "Outbound call"}.get(call["direction"], "Call")
    return Charge(
        when=call["started_at"].replace(tzinfo=None),
        kind="usage",
        amount=Decimal(call["cost"]),
        description=f"{what} ({call['billed']}s)",
        e164=call["e164"],
        call_id=call["id"],
    )
