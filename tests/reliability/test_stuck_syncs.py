"""One stuck account cannot starve the others, and two hands on one thing at once.

A run past its deadline is ended by whoever finds it (the next start, the command), its
account freed; `manage.py sync` names the run holding an account it skipped and exits
non-zero. Two syncs of one account started together: one runs, the other is skipped, and
nothing is written twice. Two label edits of one number at once: see the last two tests.
"""

import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from billing.models import Transaction
from numbers.models import PhoneNumber
from numbers.services.labels import set_label
from portal.models import AuditEvent, SyncRun
from portal.providers.sandbox import build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.services.sync import queue_sync, sync_account, takeover_age
from tests.support.factories import UserFactory
from tests.support.threads import at_once
from tests.support.world import World, serve

ELSEWHERE = "worker-7.example:4242:4026531836:123456"  # a process on another host


@pytest.fixture
def world(db):
    state = build_state(numbers=12, transactions=8, inventory=2)
    with serve(state) as url:
        yield World(state, url)


def test_a_run_past_its_deadline_is_ended_by_the_next_start_and_its_account_freed(world):
    """Stuck on another host, still writing its heartbeat: before, it held its account
    for as long as its process lived."""
    account = world.accounts["tryvox"]
    overdue = timezone.now() - takeover_age() - timedelta(seconds=1)
    stuck = SyncRun.objects.create(
        account=account,
        status=SyncRun.Status.RUNNING,
        worker=ELSEWHERE,
        started_at=overdue,
        heartbeat_at=timezone.now(),
    )

    run = sync_account(account)

    stuck.refresh_from_db()
    assert stuck.status == SyncRun.Status.INTERRUPTED
    assert "took longer than" in stuck.error and stuck.finished_at is not None
    assert run.status == SyncRun.Status.SUCCEEDED, run.error


def test_a_run_within_its_deadline_still_holds_its_account(world):
    account = world.accounts["tryvox"]
    running = SyncRun.objects.create(
        account=account, status=SyncRun.Status.RUNNING, worker=ELSEWHERE
    )
    with pytest.raises(CommandError):
        call_command("sync", "--account", str(account.pk))
    running.refresh_from_db()
    assert running.status == SyncRun.Status.RUNNING


def test_the_command_names_the_run_holding_a_skipped_account_and_exits_non_zero(world, capsys):
    busy = world.accounts["vobiz"]
    holder = SyncRun.objects.create(account=busy, status=SyncRun.Status.RUNNING, worker=ELSEWHERE)

    with pytest.raises(CommandError, match=r"skipped \(1\)"):
        call_command("sync")

    out = capsys.readouterr().out
    since = timezone.localtime(holder.started_at).strftime("%Y-%m-%d %H:%M:%S")
    assert (
        f"Vobiz India: skipped, run #{holder.pk} holds it (running since {since} "
        f"on worker {ELSEWHERE})"
    ) in out
    assert "synced 3 account(s), 0 failed, 1 skipped." in out
    # The other accounts were synced all the same.
    assert SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).count() == 3


def test_the_command_ends_overdue_runs_of_every_account_first(world, capsys):
    account = world.accounts["audian"]
    overdue = timezone.now() - takeover_age() - timedelta(seconds=1)
    stuck = SyncRun.objects.create(
        account=account, status=SyncRun.Status.RUNNING, worker=ELSEWHERE, started_at=overdue
    )
    call_command("sync", "--account", str(world.accounts["ravan"].pk))
    stuck.refresh_from_db()
    assert stuck.status == SyncRun.Status.INTERRUPTED
    assert f"Ended run #{stuck.pk} of Audian" in capsys.readouterr().out


def test_a_worker_starting_a_queued_run_ends_the_overdue_runs_it_finds(world):
    queued = queue_sync(world.accounts["ravan"])  # "Sync now": a task for a worker
    overdue = timezone.now() - takeover_age() - timedelta(seconds=1)
    stuck = SyncRun.objects.create(
        account=world.accounts["audian"],
        status=SyncRun.Status.RUNNING,
        worker=ELSEWHERE,
        started_at=overdue,
    )
    run = sync_account(queued.account, run=queued)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    stuck.refresh_from_db()
    assert stuck.status == SyncRun.Status.INTERRUPTED


# --- 7. Two at once -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_syncs_of_one_account_started_at_the_same_moment_one_runs_one_is_skipped(capsys):
    state = build_state(numbers=150, transactions=40, inventory=2)
    with serve(state, FaultConfig(latency=0.02)) as url:
        world = World(state, url)
        account = world.accounts["vobiz"]
        outcomes = []

        def command():
            try:
                call_command("sync", "--account", str(account.pk))
                outcomes.append("ran")
            except CommandError as exc:
                outcomes.append(str(exc))

        at_once(command)

        upstream = state.account("vobiz", account.upstream_account_id)
        assert sorted(outcomes) == [
            "Some syncs failed (0) or were skipped (1); see above.",
            "ran",
        ]
        (run,) = SyncRun.objects.filter(account=account)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        out = capsys.readouterr().out
        assert f"skipped, run #{run.pk} holds it (" in out
        # Each number and each ledger entry once; one run, audited once.
        numbers = list(PhoneNumber.objects.filter(account=account).values_list("number", flat=True))
        assert sorted(numbers) == sorted(r["e164"] for r in state.owned_numbers(upstream))
        ledger = Transaction.objects.filter(account=account, is_estimate=False)
        assert ledger.count() == len(state.transactions(upstream))
        assert AuditEvent.objects.filter(action=AuditEvent.Action.SYNC).count() == 1


def edit_labels_at_once(state, url):
    """Alice and Bob, who both opened the number before either saved, save different
    labels at the same moment (Audian: labels are stored upstream, latency 0.2 s). Returns
    the number afterwards, its label events in order and its label upstream."""
    world = World(state, url)
    account = world.accounts["audian"]
    assert sync_account(account, "numbers").status == SyncRun.Status.SUCCEEDED
    number = PhoneNumber.objects.filter(account=account).order_by("number").first()
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    copies = {
        alice: PhoneNumber.objects.get(pk=number.pk),
        bob: PhoneNumber.objects.get(pk=number.pk),
    }
    start = threading.Barrier(2)
    errors = []

    def edit(user, label):
        start.wait()
        try:
            set_label(copies[user], label, actor=user)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=edit, args=(alice, "Alice's label")),
        threading.Thread(target=edit, args=(bob, "Bob's label")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    number.refresh_from_db()
    events = list(AuditEvent.objects.filter(action=AuditEvent.Action.LABEL).order_by("pk"))
    upstream = state.account("audian", account.upstream_account_id)
    (record,) = [r for r in state.owned_numbers(upstream) if r["e164"] == number.number]
    return number, events, record["label"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_label_edits_of_one_number_at_once_last_write_wins_and_both_are_audited():
    """The policy that holds: last write wins (no edit is refused as stale), and both
    edits are in the audit log."""
    state = build_state(numbers=6, transactions=2, inventory=2)
    with serve(state, FaultConfig(latency=0.2)) as url:
        number, events, _ = edit_labels_at_once(state, url)
    assert sorted(event.after["label"] for event in events) == ["Alice's label", "Bob's label"]
    assert number.label in ("Alice's label", "Bob's label")
    assert {event.actor.username for event in events} == {"alice", "bob"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_label_edits_at_once_leave_one_history_and_the_provider_agreeing():
    """What the policy should also give: each `before` is what the other edit left, so
    the history reads as one sequence, and the provider ends with the portal's label."""
    state = build_state(numbers=6, transactions=2, inventory=2)
    with serve(state, FaultConfig(latency=0.2)) as url:
        number, (first, second), upstream_label = edit_labels_at_once(state, url)
    assert number.label == second.after["label"]
    assert second.before["label"] == first.after["label"], "the history has a gap"
    assert upstream_label == number.label == number.upstream_label
