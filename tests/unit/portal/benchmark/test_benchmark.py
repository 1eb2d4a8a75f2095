"""`make bench` in miniature: the whole benchmark runs on a few dozen rows (sync from the
sandbox over loopback, seeding, every page, the export over gunicorn) and its query-count
targets hold. No timing: the real figures come from `make bench` on PostgreSQL."""

import pytest

from portal.benchmark import pages
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
    query_targets = [target for target in results.targets if target.unit == "queries"]
    # Every page at both sizes, and each list at a second page size too.
    assert len(query_targets) >= len(pages.pages(0))
    assert [target.name for target in results.targets if not target.met] == []
    assert "| target | value | limit | met |" in table(results)
    assert said, "the benchmark says what it is doing"
