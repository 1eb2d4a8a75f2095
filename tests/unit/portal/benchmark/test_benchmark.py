"""`make bench` in miniature: the whole benchmark runs on a few dozen rows (sync from the
sandbox over loopback, seeding, every page, the export over gunicorn) and its query-count
targets hold. No timing: the real figures come from `make bench` on PostgreSQL."""

from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Max
from django.utils import timezone

from numbers.models import Call, NumberDay, NumberMonth, PhoneNumber
from portal.benchmark import pages, seed
from portal.benchmark.run import Sizes, run, table

# About 18 s: run by `make test-long` only (long: `-m long` picks it; long_only: `make test`
# deselects it). The main pages' query counts stay in `make test` (test_page_queries.py).
pytestmark = [pytest.mark.long, pytest.mark.long_only]

TINY = Sizes(
    numbers=60,
    transactions=300,
    small_numbers=20,
    small_transactions=100,
    sync_numbers=40,
    sync_transactions=60,
    calls=600,
    small_calls=200,
    call_sync_numbers=20,
    call_sync_calls=120,
    requests=2,
)


# Committed rows (the sandbox and gunicorn are other processes), and the database put back
# as it was afterwards, roles and content types included, for the tests that follow.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_benchmark_runs_and_its_query_counts_hold(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    said = []
    results = run(TINY, timing=False, say=said.append)

    figures = results.figures
    assert (figures["sync.numbers"], figures["sync.transactions"]) == (40, 60)
    assert figures["sync.resync_rows_written"] == 0
    # Three first syncs timed in turn with four fetch floors, each figure their median.
    assert len(figures["sync.sync_samples"]) == 3
    assert len(figures["sync.fetch_floor_samples"]) == 4
    assert figures["sync.sync_seconds"] == sorted(figures["sync.sync_samples"])[1]
    assert figures["export.rows"] == 300
    # The call sync: every call stored once, and a second sync writes nothing.
    assert figures["call_sync.calls"] == 120
    assert figures["call_sync.resync_rows_written"] == 0
    assert len(figures["call_sync.sync_samples"]) == 3
    assert len(figures["call_sync.fetch_floor_samples"]) == 4
    assert_seeded_calls_are_in_their_facts(figures)
    query_targets = [target for target in results.targets if target.unit == "queries"]
    # Every page at both sizes, and each list at a second page size too.
    assert len(query_targets) >= len(pages.pages(0))
    # Issue 20's pages among them: a busy number's usage, the list's calls, idle numbers.
    for key in ("number_detail_usage", "numbers_calls", "numbers_calls@per_page", "idle"):
        assert f"queries.{key}" in figures
    assert [target.name for target in results.targets if not target.met] == []
    assert "| target | value | limit | met |" in table(results)
    assert said, "the benchmark says what it is doing"


def assert_seeded_calls_are_in_their_facts(figures):
    """The facts the seed built (in SQL on PostgreSQL) are the sums of the calls it drew,
    worked out again here in Python, days in the configured time zone; the raw calls kept
    are those of the retention; each number's last call is its newest call."""
    world = seed.seed_accounts()
    drawn = [
        *seed.call_rows(world, 0, TINY.small_calls, TINY.small_numbers),
        *seed.call_rows(world, TINY.small_calls, TINY.calls, TINY.numbers),
    ]
    days = defaultdict(lambda: [0, 0, Decimal(0)])
    for call in drawn:
        cell = days[(call["number"], timezone.localdate(call["started_at"]), call["currency"])]
        cell[0] += 1
        cell[1] += call["billed_seconds"]
        cell[2] += call["cost"]
    stored = {
        (row.number, row.day, row.currency): [row.calls, row.billed_seconds, row.cost]
        for row in NumberDay.objects.all()
    }
    assert stored == days
    months = Counter()
    for (number, day, currency), (calls, _, _) in days.items():
        months[(number, day.replace(day=1), currency)] += calls
    assert {
        (row.number, row.month, row.currency): row.calls
        for row in NumberMonth.objects.filter(calls__gt=0)
    } == months
    kept_from = seed.ANCHOR - timedelta(days=seed.settings.CALL_RETENTION_DAYS)
    kept = [call for call in drawn if call["started_at"] >= kept_from]
    assert figures["seed.calls_kept"] == Call.objects.count() == len(kept) < len(drawn)
    latest = {}
    for call in drawn:
        latest[call["number"]] = max(
            latest.get(call["number"], call["started_at"]), call["started_at"]
        )
    assert (
        dict(
            PhoneNumber.objects.filter(last_call_at__isnull=False).values_list(
                "number", "last_call_at"
            )
        )
        == latest
    )
    assert Call.objects.aggregate(newest=Max("started_at"))["newest"] <= seed.ANCHOR
