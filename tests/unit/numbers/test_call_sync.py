"""Issue 20: the call-records sync against the sandbox. Every figure is worked out again here
in plain Python from the sandbox's own calls, and the facts the sync keeps must equal it:
after a first sync, after a second (which writes nothing), after faults, after a read cut off
part way, and after a run that reached its deadline."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from numbers.models import Call, NumberDay, NumberMonth, PhoneNumber
from portal.models import SyncRun
from portal.providers.sandbox import build_state
from portal.providers.sandbox.calls import as_dict
from portal.providers.sandbox.faults import FaultConfig
from portal.services.sync import sync_account
from tests.support.world import FailingAfter, World, in_process, serve

pytestmark = pytest.mark.django_db

PROVIDERS = ["audian", "vobiz", "ravan", "tryvox"]
CALL_PATHS = {"audian": "/cdrs", "vobiz": "/cdr", "ravan": "/call-sessions", "tryvox": "/calls"}


def small_world(calls=240):
    return build_state(numbers=12, transactions=30, inventory=1, calls=calls)


def expected_facts(world: World, slug: str):
    """{(number, day, currency): (calls, billed seconds, cost)} and the same per month, of
    the sandbox's calls of the account, days in the configured time zone."""
    upstream = world.upstream(slug)
    currency = world.accounts[slug].currency
    days, months = defaultdict(lambda: [0, 0, Decimal(0)]), defaultdict(lambda: [0, 0, Decimal(0)])
    for row in world.state.data["calls"][f"{slug}:{upstream['account_id']}"]:
        call = as_dict(row)
        day = timezone.localdate(call["started_at"])
        for facts, start in ((days, day), (months, day.replace(day=1))):
            cell = facts[(call["e164"], start, currency)]
            cell[0] += 1
            # Billed seconds where the provider publishes them; Ravan states durations only.
            cell[1] += call["duration"] if slug == "ravan" else call["billed"]
            cell[2] += Decimal(call["cost"])
    return {key: tuple(value) for key, value in days.items()}, {
        key: tuple(value) for key, value in months.items()
    }


def stored_facts(account):
    days = {
        (row.number, row.day, row.currency): (row.calls, row.billed_seconds, row.cost)
        for row in NumberDay.objects.filter(account=account)
    }
    months = {
        (row.number, row.month, row.currency): (row.calls, row.billed_seconds, row.cost)
        for row in NumberMonth.objects.filter(account=account, calls__gt=0)
    }
    return days, months


def assert_facts_match(world, slug):
    account = world.accounts[slug]
    expected_days, expected_months = expected_facts(world, slug)
    days, months = stored_facts(account)
    assert days == expected_days
    assert months == expected_months
    assert not NumberDay.objects.filter(account=account, unpriced_calls__gt=0).exists()
    # Each call once, by its id.
    ids = list(Call.objects.filter(account=account).values_list("upstream_id", flat=True))
    assert len(ids) == len(set(ids)) == sum(cell[0] for cell in expected_days.values())


def sync_until_succeeded(world, account, attempts=8):
    for _ in range(attempts):
        run = sync_account(account, transport=world.transport)
        if run.status == SyncRun.Status.SUCCEEDED:
            return run
    raise AssertionError(f"no run succeeded in {attempts}: {run.error}")


@pytest.mark.parametrize("slug", PROVIDERS)
def test_a_first_sync_makes_the_facts_the_sums_of_the_calls_and_a_second_writes_nothing(slug):
    world = in_process(small_world())
    account = world.accounts[slug]
    run = sync_account(account, transport=world.transport)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert_facts_match(world, slug)

    # Each number's last call is its newest call.
    newest = {}
    for row in world.state.data["calls"][f"{slug}:{world.upstream(slug)['account_id']}"]:
        call = as_dict(row)
        if call["e164"]:
            newest[call["e164"]] = max(
                newest.get(call["e164"], call["started_at"]), call["started_at"]
            )
    last_calls = dict(
        PhoneNumber.objects.filter(account=account, last_call_at__isnull=False).values_list(
            "number", "last_call_at"
        )
    )
    assert last_calls == newest

    before = stored_facts(account), NumberDay.objects.order_by("-pk").first().pk
    again = sync_account(account, SyncRun.Kind.CALLS, transport=world.transport)
    assert again.status == SyncRun.Status.SUCCEEDED, again.error
    assert (again.rows_created, again.rows_updated) == (0, 0)
    assert (stored_facts(account), NumberDay.objects.order_by("-pk").first().pk) == before


def test_ravan_web_calls_are_the_accounts_own_usage_never_a_numbers():
    world = in_process(small_world())
    account = world.accounts["ravan"]
    sync_until_succeeded(world, account)
    web = Call.objects.filter(account=account, number="")
    assert web.exists()
    assert not web.filter(phone_number__isnull=False).exists()
    assert NumberMonth.objects.filter(account=account, number="", calls__gt=0).exists()


@pytest.mark.parametrize("slug", PROVIDERS)
def test_with_a_fifth_of_requests_failing_the_facts_still_converge_exactly(settings, slug):
    # Enough attempts that a read failing twelve times running (0.2**12) never happens;
    # no real waiting between them.
    settings.UPSTREAM_RETRY = {**settings.UPSTREAM_RETRY, "attempts": 12, "wait_max": 0.001}
    state = small_world()
    world = in_process(state, FaultConfig(rate=0.2, seed=7, retry_after="0"))
    sync_until_succeeded(world, world.accounts[slug])
    assert_facts_match(world, slug)


@pytest.mark.parametrize("slug", PROVIDERS)
def test_a_read_cut_off_part_way_leaves_no_gap_and_no_double_count(slug):
    state = small_world()
    with serve(state) as url:
        world = World(state, url)
        account = world.accounts[slug]
        # Numbers first, then a calls read that fails after a few of its requests.
        assert sync_account(account, SyncRun.Kind.NUMBERS).status == SyncRun.Status.SUCCEEDED
        cut = sync_account(
            account, SyncRun.Kind.CALLS, transport=FailingAfter(CALL_PATHS[slug], allowed=1)
        )
        assert cut.status == SyncRun.Status.FAILED
        kept = Call.objects.filter(account=account).count()
        assert kept < sum(
            1 for _ in state.data["calls"][f"{slug}:{world.upstream(slug)['account_id']}"]
        )
        done = sync_account(account, SyncRun.Kind.CALLS)
        assert done.status == SyncRun.Status.SUCCEEDED, done.error
    assert_facts_match(world, slug)


def test_a_long_history_is_read_over_several_runs_each_keeping_its_progress(settings):
    """A run that reaches its deadline part way keeps the whole windows it stored, and the
    next run reads on from there rather than from the start."""
    settings.CALL_SYNC_WINDOW_DAYS = 3  # 132 windows: a request each at least
    state = small_world(calls=400)
    with serve(state, FaultConfig(latency=0.03)) as url:
        world = World(state, url)
        account = world.accounts["vobiz"]
        assert sync_account(account, SyncRun.Kind.NUMBERS).status == SyncRun.Status.SUCCEEDED
        # Time for a part of the windows only (132 requests of 30 ms take 4 s at the least).
        settings.SYNC_RUN_DEADLINE = timedelta(seconds=1.5)
        runs, marks = [], []
        while not runs or runs[-1].status != SyncRun.Status.SUCCEEDED:
            assert len(runs) < 30, "the history was never read whole"
            runs.append(sync_account(account, SyncRun.Kind.CALLS))
            account.refresh_from_db()
            marks.append(account.calls_synced_until)
    out_of_time = runs[0]
    assert out_of_time.status == SyncRun.Status.FAILED  # its one step did not finish
    assert "took longer" in out_of_time.error
    assert len(runs) > 1
    # Every run went on from where the one before stopped: the mark only moves forward, and
    # the first run's windows were kept.
    assert marks[0] is not None
    assert marks == sorted(marks)
    # Read about once in all (the overlap re-reads a few): never again from the start.
    assert sum(run.rows_fetched for run in runs) < 1.25 * Call.objects.count()
    assert_facts_match(world, "vobiz")


@pytest.mark.parametrize("slug", ["audian", "tryvox"])
def test_a_call_priced_later_is_unpriced_until_then_and_counted_once(slug):
    state = small_world()
    world = in_process(state)
    account = world.accounts[slug]
    withheld = state.withhold_call_prices(world.upstream(slug), 15)
    sync_until_succeeded(world, account)
    unpriced = Call.objects.filter(account=account, cost__isnull=True)
    assert set(unpriced.values_list("upstream_id", flat=True)) == set(withheld)
    assert (
        sum(NumberMonth.objects.filter(account=account).values_list("unpriced_calls", flat=True))
        == 15
    )

    state.post_call_prices(world.upstream(slug))
    run = sync_account(account, SyncRun.Kind.CALLS, transport=world.transport)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.rows_updated == 15
    assert_facts_match(world, slug)


def test_raw_calls_past_their_retention_go_and_their_facts_stay(settings):
    world = in_process(small_world())
    account = world.accounts["vobiz"]
    sync_until_succeeded(world, account)
    before = stored_facts(account)
    oldest = Call.objects.filter(account=account).order_by("started_at").first().started_at
    settings.CALL_RETENTION_DAYS = (timezone.now() - oldest).days - 30
    sync_account(account, SyncRun.Kind.CALLS, transport=world.transport)
    assert not Call.objects.filter(
        account=account, started_at__lt=timezone.now() - timedelta(settings.CALL_RETENTION_DAYS)
    ).exists()
    assert Call.objects.filter(account=account).exists()
    assert stored_facts(account) == before
