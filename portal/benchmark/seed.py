"""A reseller's worth of data, fast: providers, 20 accounts, owned numbers with labels,
tags, countries, statuses and fees in USD and INR, and two years of transactions.

Rows are made from their index alone (`numbers(start, stop)`), so a run can seed a small
world, measure it, then grow it to full size and measure again. On PostgreSQL rows go in
with COPY; elsewhere (the smoke test on SQLite) with bulk inserts.
"""

from __future__ import annotations

import bisect
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import chain

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from billing.models import BalanceSnapshot, Transaction
from billing.services.charge_facts import recount_charges
from numbers.models import Call, PhoneNumber, Tag
from numbers.services.facts import FactDelta
from numbers.services.label_facts import rebuild_label_facts
from numbers.services.sync import batched
from portal.db.bulk import copy_rows
from portal.models import Provider, ProviderAccount
from portal.providers.sandbox.world import CUSTOMERS, DASH, INDIAN_CUSTOMERS, LINES

# The benchmark's "now": fixed, so every run seeds the same rows.
ANCHOR = datetime(2026, 11, 30, 12, tzinfo=UTC)
HISTORY = timedelta(days=730)
PROVIDERS = (
    ("audian", "Audian", "USD"),
    ("vobiz", "Vobiz", "INR"),
    ("ravan", "Ravan", "USD"),
    ("tryvox", "TryVox", "USD"),
)
ACCOUNTS_PER_PROVIDER = 5
# (country, E.164 prefix, digits after it, type, monthly fee in USD, in INR)
NUMBER_BLOCKS = (
    ("US", "+1415", 7, "local", "1.15", "95"),
    ("US", "+1212", 7, "local", "1.15", "95"),
    ("US", "+1800", 7, "toll_free", "2.00", "165"),
    ("GB", "+44207", 7, "local", "1.50", "125"),
    ("IN", "+9122", 8, "local", "3.00", "250"),
    ("IN", "+9180", 8, "local", "3.00", "250"),
    ("IN", "+91987", 7, "mobile", "4.50", "375"),
    ("DE", "+4930", 8, "local", "2.10", "175"),
)
STATUSES = ("active",) * 17 + ("released", "suspended", "pending")
TAGS = ("priority", "porting", "trial", "emea", "apac", "do-not-release", "shared", "vip")
# Transactions per account and kind, as a share of all: rentals, usage, top-ups.
KINDS = (("recurring", 3), ("usage", 6), ("credit", 1))


@dataclass(frozen=True)
class World:
    """What `seed_accounts` made: account ids in order, with provider and currency."""

    accounts: tuple[tuple[int, int, str, str], ...]  # (account id, provider id, slug, currency)


def seed_accounts() -> World:
    rows = []
    for slug, name, currency in PROVIDERS:
        provider, _ = Provider.objects.get_or_create(slug=slug, defaults={"name": name})
        for index in range(ACCOUNTS_PER_PROVIDER):
            # One Vobiz account bills in USD, as Vobiz allows.
            account_currency = "USD" if slug == "vobiz" and index == 0 else currency
            account, _ = ProviderAccount.objects.get_or_create(
                provider=provider,
                upstream_account_id=f"bench-{slug}-{index}",
                defaults={
                    "name": f"{name} customers {index + 1}",
                    "base_url": f"https://{slug}.invalid/",
                    "currency": account_currency,
                    "low_balance_threshold": Decimal(50 if account_currency == "USD" else 4000),
                },
            )
            rows.append((account.pk, provider.pk, slug, account_currency))
    return World(tuple(rows))


def _e164(index: int) -> tuple[tuple, str]:
    block = NUMBER_BLOCKS[index % len(NUMBER_BLOCKS)]
    serial = index // len(NUMBER_BLOCKS)
    # Spread over the block's digits (a multiplier coprime with 10), so numbers are not all
    # consecutive yet never collide.
    span = 10 ** block[2]
    return block, f"{block[1]}{(serial * 7_919 + 2 * span // 10) % span:0{block[2]}d}"


def _label(rng: random.Random, country: str, index: int) -> str:
    customers = INDIAN_CUSTOMERS if country == "IN" else CUSTOMERS
    # The first numbers name the first customers (Acme Dental first), so a search for one
    # finds rows in a world of any size: its queries are then compared like for like.
    if index < len(NUMBER_BLOCKS):
        return f"{customers[0]} {DASH} {LINES[0]}"
    if rng.random() < 0.12:
        return ""
    return f"{rng.choice(customers)} {DASH} {rng.choice(LINES)}"


def _status_and_purchase(rng: random.Random) -> tuple[str, datetime]:
    """A number's first draws (`number_rows`), also made again to place its calls."""
    status = rng.choice(STATUSES)
    return status, ANCHOR - timedelta(seconds=rng.randrange(86_400, HISTORY.days * 86_400))


def number_rows(world: World, start: int, stop: int) -> Iterator[dict]:
    for index in range(start, stop):
        rng = random.Random(index)  # noqa: S311 - reproducible data, not secrets
        account_id, provider_id, slug, currency = world.accounts[index % len(world.accounts)]
        block, e164 = _e164(index)
        country, _, _, number_type, usd_fee, inr_fee = block
        status, purchased = _status_and_purchase(rng)
        label = _label(rng, country, index)
        yield {
            "provider_id": provider_id,
            "account_id": account_id,
            "number": e164,
            "country": country,
            "region": "",
            "number_type": number_type,
            "upstream_id": "" if slug == "tryvox" else f"{slug}-{index}",
            "upstream_label": label if slug == "audian" else "",
            "label": "" if slug == "audian" else label,
            "status": status,
            "voice": True,
            "sms": number_type != "toll_free",
            "mms": country == "US" and number_type == "local",
            "fax": index % 11 == 0,
            "setup_fee": Decimal(usd_fee if currency == "USD" else inr_fee),
            "setup_fee_source": "listing",
            "period_fee": Decimal(usd_fee if currency == "USD" else inr_fee),
            "rental_period_days": None,
            "monthly_fee": Decimal(usd_fee if currency == "USD" else inr_fee),
            "monthly_fee_source": "listing",
            "currency": currency,
            "purchased_at": purchased,
            "released_at": purchased + timedelta(days=30) if status == "released" else None,
            "created_at": purchased,
            "updated_at": purchased,
        }


def transaction_rows(world: World, start: int, stop: int, numbers: int) -> Iterator[dict]:
    """Transactions `start`..`stop` of a world holding `numbers` numbers, spread evenly over
    the two years before ANCHOR; rentals name the number they are for."""
    weights = [weight for _, weight in KINDS]
    kinds = [kind for kind, _ in KINDS]
    for index in range(start, stop):
        rng = random.Random(-1 - index)  # noqa: S311 - reproducible data, not secrets
        number_index = rng.randrange(numbers)
        account_id, _, slug, currency = world.accounts[number_index % len(world.accounts)]
        kind = rng.choices(kinds, weights)[0]
        occurred = ANCHOR - timedelta(seconds=rng.randrange(HISTORY.days * 86_400))
        scale = 1 if currency == "USD" else 83
        estimate = slug in ("ravan", "tryvox")
        if kind == "recurring":
            e164 = _e164(number_index)[1]
            amount = Decimal("1.15") * scale
            description = f"Monthly rental {e164}"
        elif kind == "usage":
            e164 = _e164(number_index)[1] if rng.random() < 0.5 else ""
            amount = Decimal(rng.randrange(1, 250_000)).scaleb(-4) * scale
            description = rng.choice(("Outbound calls", "Inbound calls", "SMS"))
        else:
            e164 = ""
            amount = Decimal(rng.choice((50, 100, 250, 500))) * scale
            description = "Top-up"
        if estimate and kind != "recurring":
            # Providers without a billing API only have the rentals the portal estimates.
            kind, e164, amount = "recurring", _e164(number_index)[1], Decimal("1.15")
            description = f"Estimated monthly rental {e164}"
        yield {
            "account_id": account_id,
            "upstream_id": f"{'est:' if estimate else ''}bench-{index}",
            "kind": kind,
            "amount": amount,
            "currency": currency,
            "description": description,
            "occurred_at": occurred,
            "number": e164,
            "phone_number_id": None,  # filled in by seed_transactions
            "reference": "",
            "is_estimate": estimate,
            "created_at": occurred,
        }


def insert_rows(model, rows: Iterable[dict], batch_size: int = 10_000) -> int:
    """Insert plain dicts of column values: COPY on PostgreSQL, bulk inserts elsewhere."""
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    rows = chain([first], iterator)
    count = 0
    if connection.vendor != "postgresql":
        for batch in batched(rows, batch_size):
            model.objects.bulk_create(model(**values) for values in batch)
            count += len(batch)
        return count
    columns = list(first)
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for values in rows:
            copy.write_row([values[column] for column in columns])
            count += 1
    return count


def seed_numbers(world: World, start: int, stop: int) -> int:
    """Numbers `start`..`stop`; every fifth of them gets a tag."""
    newest = PhoneNumber.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    count = insert_rows(PhoneNumber, number_rows(world, start, stop))
    tags = [Tag.objects.get_or_create(name=name)[0].pk for name in TAGS]
    # Read before the COPY starts: a connection cannot stream rows in while copying out.
    new_ids = list(
        PhoneNumber.objects.filter(pk__gt=newest).order_by("pk").values_list("pk", flat=True)
    )
    insert_rows(
        PhoneNumber.tags.through,
        (
            {"phonenumber_id": pk, "tag_id": tags[index % len(tags)]}
            for index, pk in enumerate(new_ids)
            if index % 5 == 0
        ),
    )
    return count


def seed_transactions(world: World, start: int, stop: int, numbers: int) -> int:
    ids = dict(PhoneNumber.objects.values_list("number", "pk").iterator(chunk_size=20_000))

    def linked():
        for row in transaction_rows(world, start, stop, numbers):
            row["phone_number_id"] = ids.get(row["number"])
            yield row

    count = insert_rows(Transaction, linked())
    # Loaded around the syncs, so counted in the monthly facts here, as they would count it.
    recount_charges()
    return count


# Calls: each number is quiet, silent or busy by its index alone, as a real account's
# numbers are skewed (shares of the numbers): never called; called, but not in the last
# QUIET_DAYS; very busy (BUSY_WEIGHT times a quiet number's share of the calls); the rest
# quiet. With the quiet numbers' gaps, about a third have no call in the last 90 days.
NEVER_CALLED = 0.10
NOT_LATELY = 0.18
BUSY = 0.01
BUSY_WEIGHT = 60
QUIET_DAYS = 90
# Per-minute rates (inbound, outbound) by currency, as the sandbox's (sandbox.calls).
CALL_RATES = {
    "USD": (Decimal("0.0085"), Decimal("0.0120")),
    "INR": (Decimal("0.45"), Decimal("0.90")),
}
CENTS = Decimal("0.0001")
MEAN_CALL_SECONDS = 150


def _call_class(index: int) -> float:
    """A number's place in [0, 1) for its calls: a multiplicative hash of its index, so it
    is the same at every world size, yet spread over the blocks and accounts."""
    return (index * 2_654_435_761 % 2**32) / 2**32


@lru_cache(maxsize=2)
def _call_spans(numbers: int) -> tuple[list[int], list[tuple[int, float, float]]]:
    """Of a world of `numbers` numbers: the cumulative weights of the numbers that take
    calls, and each one's (index, first, last moment it takes calls) in Unix seconds: from
    its purchase (or the start of the history) to its release, the quiet ones only up to
    QUIET_DAYS before ANCHOR."""
    history_start = (ANCHOR - HISTORY).timestamp()
    quiet_from = (ANCHOR - timedelta(days=QUIET_DAYS)).timestamp()
    cumulative, spans, total = [], [], 0
    for index in range(numbers):
        place = _call_class(index)
        if place < NEVER_CALLED:
            continue
        status, purchased = _status_and_purchase(random.Random(index))  # noqa: S311
        first = max(history_start, purchased.timestamp())
        last = ANCHOR.timestamp()
        if status == "released":  # 30 days after its purchase, which may be after ANCHOR
            last = min(last, (purchased + timedelta(days=30)).timestamp())
        if place < NEVER_CALLED + NOT_LATELY:
            last = min(last, quiet_from)
        if last <= first:
            continue
        busy = NEVER_CALLED + NOT_LATELY <= place < NEVER_CALLED + NOT_LATELY + BUSY
        total += BUSY_WEIGHT if busy else 1
        cumulative.append(total)
        spans.append((index, first, last))
    return cumulative, spans


def call_rows(world: World, start: int, stop: int, numbers: int) -> Iterator[dict]:
    """Calls `start`..`stop` of a world holding `numbers` numbers, each on a number while it
    was held, skewed as `_call_spans` says; costs in the account's currency."""
    cumulative, spans = _call_spans(numbers)
    total = cumulative[-1]
    for index in range(start, stop):
        rng = random.Random(-(10**9) - index)  # noqa: S311 - reproducible data, not secrets
        slot = min(bisect.bisect_right(cumulative, rng.random() * total), len(spans) - 1)
        number_index, first, last = spans[slot]
        account_id, _, _, currency = world.accounts[number_index % len(world.accounts)]
        started = datetime.fromtimestamp(first + rng.random() * (last - first), UTC)
        duration = min(3600, 5 + int(rng.expovariate(1 / MEAN_CALL_SECONDS)))
        billed = -(-duration // 60) * 60
        inbound = rng.random() < 0.5
        rate = CALL_RATES[currency][0 if inbound else 1]
        e164 = _e164(number_index)[1]
        yield {
            "account_id": account_id,
            "phone_number_id": None,  # filled in by seed_calls
            "number": e164,
            "other_party": f"{e164[:3]}{rng.randrange(10**9, 10**10)}",
            "upstream_id": f"bench-call-{index}",
            "direction": "inbound" if inbound else "outbound",
            "status": "completed",
            "started_at": started,
            "duration_seconds": duration,
            "billed_seconds": billed,
            "cost": (rate * billed / 60).quantize(CENTS),
            "currency": currency,
            "parts": {},
            "created_at": started,
        }


def seed_calls(world: World, start: int, stop: int, numbers: int) -> int:
    """Calls `start`..`stop` and their facts, as the call sync would have left them after
    the same history (numbers.services.calls): every call counted in its number's day and
    month (NumberDay, NumberMonth) and in the number's last call, each account's calls
    synced up to ANCHOR; of the raw calls only those a real install keeps
    (settings.CALL_RETENTION_DAYS before ANCHOR), as it drops older ones on each sync while
    their facts stay. Returns how many raw calls were kept."""
    ids = dict(PhoneNumber.objects.values_list("number", "pk").iterator(chunk_size=20_000))

    def linked():
        for row in call_rows(world, start, stop, numbers):
            row["phone_number_id"] = ids.get(row["number"])
            yield row

    kept_from = ANCHOR - timedelta(days=settings.CALL_RETENTION_DAYS)
    if connection.vendor == "postgresql":
        kept = _seed_calls_in_sql(linked(), kept_from)
    else:
        kept = _seed_calls_in_python(world, linked(), kept_from)
    accounts = ProviderAccount.objects.filter(pk__in=[pk for pk, *_ in world.accounts])
    accounts.update(calls_synced_until=ANCHOR)
    with transaction.atomic():
        rebuild_label_facts(accounts)
    return kept


_CALL_COLUMNS = (
    "account_id",
    "phone_number_id",
    "number",
    "other_party",
    "upstream_id",
    "direction",
    "status",
    "started_at",
    "duration_seconds",
    "billed_seconds",
    "cost",
    "currency",
    "parts",
    "created_at",
)
# The facts of the staged calls, added to what the tables hold (NumberMonth rows of the
# ledger's charges among them, from recount_charges): the sums FactDelta.add_call makes,
# by days and months of the configured time zone.
_FACTS_FROM_SEEDED_CALLS = """
    INSERT INTO {table} (
        account_id, number, {period}, currency, phone_number_id,
        calls, billed_seconds, cost, unpriced_calls{extra_columns}
    )
    SELECT account_id, number, {start} AS period_start, currency, max(phone_number_id),
        count(*), sum(COALESCE(billed_seconds, duration_seconds)), sum(COALESCE(cost, 0)),
        sum((cost IS NULL)::int){extra_values}
    FROM bench_call_seed
    GROUP BY account_id, number, period_start, currency
    ON CONFLICT (account_id, number, {period}, currency) DO UPDATE SET
        calls = {table}.calls + excluded.calls,
        billed_seconds = {table}.billed_seconds + excluded.billed_seconds,
        cost = {table}.cost + excluded.cost,
        unpriced_calls = {table}.unpriced_calls + excluded.unpriced_calls,
        phone_number_id = COALESCE({table}.phone_number_id, excluded.phone_number_id)
"""
_LOCAL_DAY = "(started_at AT TIME ZONE %(zone)s)::date"


def _seed_calls_in_sql(rows: Iterable[dict], kept_from: datetime) -> int:
    """PostgreSQL: every call COPYed into a staging table, the facts built from it by
    INSERT … SELECT … GROUP BY, then the calls within the retention moved into the calls
    table."""
    zone = {"zone": timezone.get_default_timezone_name()}
    columns = ", ".join(_CALL_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE bench_call_seed ON COMMIT DROP AS SELECT {columns} "  # noqa: S608
            "FROM numbers_call WITH NO DATA"
        )
        copy_rows(
            cursor,
            "bench_call_seed",
            _CALL_COLUMNS,
            (
                [json.dumps(row[c]) if c == "parts" else row[c] for c in _CALL_COLUMNS]
                for row in rows
            ),
        )
        for table, period, start, extra in (
            ("numbers_numberday", "day", _LOCAL_DAY, False),
            ("numbers_numbermonth", "month", f"date_trunc('month', {_LOCAL_DAY})::date", True),
        ):
            cursor.execute(
                _FACTS_FROM_SEEDED_CALLS.format(
                    table=table,
                    period=period,
                    start=start,
                    extra_columns=", charged, estimated" if extra else "",
                    extra_values=", 0, 0" if extra else "",
                ),
                zone,
            )
        cursor.execute(
            """
            UPDATE numbers_phonenumber AS phone SET last_call_at = called.latest
            FROM (
                SELECT phone_number_id, max(started_at) AS latest FROM bench_call_seed
                WHERE phone_number_id IS NOT NULL GROUP BY phone_number_id
            ) AS called
            WHERE phone.id = called.phone_number_id
                AND (phone.last_call_at IS NULL OR phone.last_call_at < called.latest)
            """
        )
        cursor.execute(
            f"INSERT INTO numbers_call ({columns}) SELECT {columns} FROM bench_call_seed "  # noqa: S608
            "WHERE started_at >= %s ORDER BY started_at",
            [kept_from],
        )
        return cursor.rowcount


def _seed_calls_in_python(world: World, rows: Iterable[dict], kept_from: datetime) -> int:
    """Elsewhere (the smoke test on SQLite): the sync's own FactDelta counts the calls."""
    deltas = {
        account_id: FactDelta(ProviderAccount(pk=account_id)) for account_id, *_ in world.accounts
    }
    kept, latest = [], {}
    for row in rows:
        deltas[row["account_id"]].add_call(row)
        if row["phone_number_id"] is not None:
            latest[row["phone_number_id"]] = max(
                latest.get(row["phone_number_id"], row["started_at"]), row["started_at"]
            )
        if row["started_at"] >= kept_from:
            kept.append(row)
    for delta in deltas.values():
        delta.save()
    insert_rows(Call, kept)
    for number in PhoneNumber.objects.filter(pk__in=latest):
        if number.last_call_at is None or number.last_call_at < latest[number.pk]:
            number.last_call_at = latest[number.pk]
            number.save(update_fields=["last_call_at"])
    return len(kept)


def calls_kept() -> int:
    return Call.objects.count()


def quiet_numbers(days: int) -> int:
    """Numbers held (not released) with no call in the `days` before ANCHOR."""
    return (
        PhoneNumber.objects.exclude(status="released")
        .filter(Q(last_call_at__isnull=True) | Q(last_call_at__lt=ANCHOR - timedelta(days=days)))
        .count()
    )


def seed_balances(world: World) -> None:
    BalanceSnapshot.objects.bulk_create(
        BalanceSnapshot(
            account_id=account_id,
            balance=Decimal(1000 - 30 * day) * (1 if currency == "USD" else 83),
            currency=currency,
            taken_at=ANCHOR - timedelta(days=day),
        )
        for account_id, _, _, currency in world.accounts
        for day in range(30)
    )


def analyze() -> None:
    """Leave the database as a live one would be after the same history.

    A ledger is appended as time passes, so its rows lie in the table in time order; the
    seed writes them in random order, which would make every "last month" read pages from
    all over the table. CLUSTER puts them in time order. Then VACUUM ANALYZE: visibility
    map and planner statistics, as autovacuum gives a live database (it may be off on a
    test server)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("CLUSTER billing_transaction USING transaction_recent")
            cursor.execute("VACUUM ANALYZE")
