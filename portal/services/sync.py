"""Running a sync of one account: the SyncRun around the steps each app contributes.

The steps (settings.SYNC_STEPS, in order: numbers first, so transactions can link to them)
are plain functions `step(account, adapter, *, now, progress) -> SyncCounts` in the apps'
services, so `portal` drives them without importing `numbers` or `billing`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from portal.db.workers import process_gone, this_worker
from portal.models import AuditEvent, ProviderAccount, SyncRun
from portal.providers import adapter_for
from portal.providers.deadlines import SYNC, Deadline, duration_words
from portal.providers.errors import RunDeadlineExceeded, UpstreamError
from portal.services.audit import record_audit_event

logger = logging.getLogger("portal.services.sync")

# How often a running sync writes its figures (and so its heartbeat); the progress page
# polls every second.
PROGRESS_EVERY_SECONDS = 1.0


@dataclass
class SyncCounts:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    released: int = 0
    # False for a step computed from local data alone (estimated rentals): it cannot make
    # a run in which every upstream call failed look like a partial success.
    from_upstream: bool = True

    def add(self, other: SyncCounts) -> None:
        self.fetched += other.fetched
        self.created += other.created
        self.updated += other.updated
        self.released += other.released

    def run_fields(self) -> dict[str, int]:
        """The SyncRun columns these counts fill."""
        return {
            "rows_fetched": self.fetched,
            "rows_created": self.created,
            "rows_updated": self.updated,
            "rows_released": self.released,
        }


class SyncAlreadyRunning(Exception):
    """Another sync of the account is queued or running (the database said so); `holder`
    is that run, when it could still be read."""

    def __init__(self, message: str, holder: SyncRun | None = None):
        super().__init__(message)
        self.holder = holder


class RunClosedElsewhere(Exception):
    """Another process closed this run (took it for dead): it must stop writing."""


def steps_for(kind: str) -> list[tuple[str, object]]:
    return [
        (step_kind, import_string(path))
        for step_kind, path in settings.SYNC_STEPS
        if kind in (SyncRun.Kind.ALL, step_kind)
    ]


def queue_sync(account: ProviderAccount, kind: str = SyncRun.Kind.ALL, *, actor=None) -> SyncRun:
    """Record a queued run; raises SyncAlreadyRunning when one is queued or running.
    Runs (of any account) past their deadline or left by a process that died are closed
    first, so none can block its account's syncs for ever."""
    interrupt_abandoned_runs()
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                account=account, kind=kind, status=SyncRun.Status.QUEUED, triggered_by=actor
            )
    except IntegrityError as exc:
        holder = SyncRun.objects.filter(account=account, status__in=SyncRun.IN_PROGRESS).first()
        raise SyncAlreadyRunning(
            f"A sync of {account} is already in progress.", holder=holder
        ) from exc


def sync_account(
    account: ProviderAccount,
    kind: str = SyncRun.Kind.ALL,
    *,
    actor=None,
    run: SyncRun | None = None,
    transport: httpx.BaseTransport | None = None,
) -> SyncRun:
    """Sync one account now and return its finished SyncRun (succeeded, partial or failed).

    Each step runs on its own: an upstream failure in one is recorded and the others still
    run. A step that failed part way keeps what it wrote (always correct rows) and releases
    nothing. The run ends by settings.SYNC_RUN_DEADLINE: every upstream call ends by then,
    and once it has passed no further step starts. `transport` replaces the network (the
    demo syncs from an in-process sandbox)."""
    if run is None:
        run = queue_sync(account, kind, actor=actor)
    else:  # a worker starting a queued run: it ends the overdue runs it finds, too
        interrupt_abandoned_runs()
    started = timezone.now()
    # Only a run still queued starts: one closed meanwhile (taken for never started) stays so.
    starting = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED)
    if not starting.update(
        status=SyncRun.Status.RUNNING,
        started_at=started,
        heartbeat_at=started,
        worker=this_worker(),
    ):
        run.refresh_from_db()
        return run
    run.refresh_from_db()
    totals, errors, succeeded = SyncCounts(), [], 0
    step_counts = SyncCounts()
    last_written = time.monotonic()

    def progress(counts: SyncCounts):
        nonlocal step_counts, last_written
        step_counts = counts
        # Written as it goes so the page polling the run shows live figures, but no more
        # often than the page polls: a write per batch would cost the sync a round trip
        # and a commit each time, for figures nobody sees.
        if time.monotonic() - last_written >= PROGRESS_EVERY_SECONDS:
            _store_counts(run, totals, counts)
            last_written = time.monotonic()

    deadline = Deadline.after(settings.SYNC_RUN_DEADLINE.total_seconds(), SYNC)
    try:
        with adapter_for(account, transport=transport) as adapter:
            adapter.run_deadline = deadline
            for step_kind, step in steps_for(run.kind):
                step_counts = SyncCounts()
                try:
                    if deadline.passed():
                        raise deadline.error(adapter.name)
                    counts = step(account, adapter, now=run.started_at, progress=progress)
                except UpstreamError as exc:
                    # What the step wrote before it failed is kept, so it is counted too.
                    totals.add(step_counts)
                    errors.append(f"{step_kind}: {exc}")
                    logger.warning("sync %s of %s failed: %s", step_kind, account.pk, exc)
                    if isinstance(exc, RunDeadlineExceeded):
                        break  # no time is left for the steps after it
                    continue
                totals.add(counts)
                _store_counts(run, totals)
                succeeded += counts.from_upstream
    except RunClosedElsewhere:
        logger.warning("sync run %s of %s was closed by another process", run.pk, account.pk)
        run.refresh_from_db()
        return run
    except Exception as exc:  # a bug must still end the run, with the reason, then surface
        errors.append(f"unexpected error: {type(exc).__name__}: {exc}")
        _finish(run, totals, errors, succeeded)
        raise
    _finish(run, totals, errors, succeeded)
    announce_finished(run)
    return run


def announce_finished(run: SyncRun) -> None:
    """Tell the apps that registered in settings.SYNC_FINISHED_HOOKS (alerts evaluate their
    rules) that `run` ended. A hook that fails is logged: it never fails the sync."""
    for path in settings.SYNC_FINISHED_HOOKS:
        try:
            import_string(path)(run)
        except Exception:
            logger.exception("sync-finished hook %s failed for run %s", path, run.pk)


def _write_running(run: SyncRun, **values):
    """Write `values` to the run while it is still running, and only then: a run another
    process closed as interrupted stops here rather than write over that (and sync on
    beside the run started after it)."""
    if not SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(**values):
        raise RunClosedElsewhere(run.pk)
    for name, value in values.items():
        setattr(run, name, value)


def _store_counts(run: SyncRun, totals: SyncCounts, current: SyncCounts | None = None):
    running = SyncCounts()
    running.add(totals)
    if current is not None:
        running.add(current)
    _write_running(run, **running.run_fields(), heartbeat_at=timezone.now())


# ---------------------------------------------------------------------------------------
# Runs whose process died
# ---------------------------------------------------------------------------------------

NEVER_STARTED = "No worker started this queued run; the next run does its work."
INTERRUPTED_MESSAGE = (
    "The sync process stopped before the run finished (killed, crashed or restarted). "
    "What it had written is kept; the next run carries on from there."
)
OVERRAN_MESSAGE = (
    "The sync took longer than {deadline} and did not stop by itself (its process is stuck "
    "or was lost with its host); it was ended so the account can sync again. What it had "
    "written is kept."
)


def takeover_age():
    """How long after its start a run in progress is ended by whoever finds it: its own
    deadline, plus one request deadline for its last upstream call to give up."""
    return settings.SYNC_RUN_DEADLINE + timedelta(seconds=settings.UPSTREAM_REQUEST_DEADLINE)


def interrupt_abandoned_runs(
    account: ProviderAccount | None = None, *, now: datetime | None = None
) -> list[SyncRun]:
    """Close as interrupted the runs (of `account`, or all) still in progress past their
    deadline (`takeover_age` after they started: a stuck process, or one lost with its
    host), or left by a process this one can see has ended (portal.db.workers); and runs
    queued that long that no worker ever started. Returns the runs closed, whose accounts
    are free to sync again."""
    now = now or timezone.now()
    overdue_since = now - takeover_age()
    in_progress = SyncRun.objects.filter(status__in=SyncRun.IN_PROGRESS).select_related(
        "account", "triggered_by"
    )
    if account is not None:
        in_progress = in_progress.filter(account=account)
    closed = []
    for run in in_progress:
        overdue = run.started_at < overdue_since
        if not (overdue or (run.worker and process_gone(run.worker))):
            continue
        if run.status == SyncRun.Status.QUEUED:
            error = NEVER_STARTED
        elif overdue:
            error = OVERRAN_MESSAGE.format(
                deadline=duration_words(settings.SYNC_RUN_DEADLINE.total_seconds())
            )
        else:
            error = INTERRUPTED_MESSAGE
        # Only if still as it was: two starts recovering at once close it once.
        if SyncRun.objects.filter(pk=run.pk, status=run.status).update(
            status=SyncRun.Status.INTERRUPTED, finished_at=max(now, run.started_at), error=error
        ):
            run.refresh_from_db()
            logger.warning("sync run %s of account %s was interrupted", run.pk, run.account_id)
            _record_run(run)
            closed.append(run)
    return closed


# ---------------------------------------------------------------------------------------
# Ending a run
# ---------------------------------------------------------------------------------------


def _finish(run: SyncRun, totals: SyncCounts, errors: list[str], succeeded: int):
    if not errors:
        status = SyncRun.Status.SUCCEEDED
    elif succeeded:
        status = SyncRun.Status.PARTIAL
    else:
        status = SyncRun.Status.FAILED
    try:
        _write_running(
            run,
            **totals.run_fields(),
            status=status,
            error="\n".join(errors),
            finished_at=timezone.now(),
        )
    except RunClosedElsewhere:
        run.refresh_from_db()  # interrupted: that stands, and was recorded then
        return
    _record_run(run)


def _record_run(run: SyncRun):
    record_audit_event(
        actor=run.triggered_by,
        action=AuditEvent.Action.SYNC,
        obj=run.account,
        after={
            "run": run.pk,
            "kind": run.kind,
            "status": run.status,
            "fetched": run.rows_fetched,
            "created": run.rows_created,
            "updated": run.rows_updated,
            "released": run.rows_released,
            "error": run.error,
        },
    )
