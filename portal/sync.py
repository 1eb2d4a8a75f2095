"""Running a sync of one account: the SyncRun around the steps each app contributes.

The steps (settings.SYNC_STEPS, in order: numbers first, so transactions can link to them)
are plain functions `step(account, adapter, *, now, progress) -> SyncCounts` in the apps'
services, so `portal` drives them without importing `numbers` or `billing`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from portal.models import AuditEvent, ProviderAccount, SyncRun
from portal.services import record_audit_event
from portal.upstream import adapter_for
from portal.upstream.errors import UpstreamError

logger = logging.getLogger("portal.sync")


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


class SyncAlreadyRunning(Exception):
    """Another sync of the account is queued or running (the database said so)."""


def steps_for(kind: str) -> list[tuple[str, object]]:
    return [
        (step_kind, import_string(path))
        for step_kind, path in settings.SYNC_STEPS
        if kind in (SyncRun.Kind.ALL, step_kind)
    ]


def queue_sync(account: ProviderAccount, kind: str = SyncRun.Kind.ALL, user=None) -> SyncRun:
    """Record a queued run; raises SyncAlreadyRunning when one is queued or running."""
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                account=account, kind=kind, status=SyncRun.Status.QUEUED, triggered_by=user
            )
    except IntegrityError as exc:
        raise SyncAlreadyRunning(f"A sync of {account} is already in progress.") from exc


def sync_account(
    account: ProviderAccount,
    kind: str = SyncRun.Kind.ALL,
    user=None,
    run: SyncRun | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
) -> SyncRun:
    """Sync one account now and return its finished SyncRun (succeeded, partial or failed).

    Each step runs on its own: an upstream failure in one is recorded and the others still
    run. A step that failed part way keeps what it wrote (always correct rows) and releases
    nothing. `transport` replaces the network (the demo syncs from an in-process sandbox)."""
    run = run or queue_sync(account, kind, user)
    run.status = SyncRun.Status.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    totals, errors, succeeded = SyncCounts(), [], 0

    def progress(counts: SyncCounts):
        # Written as it goes so the page polling the run shows live figures.
        _store_counts(run, totals, counts)

    try:
        with adapter_for(account, transport=transport) as adapter:
            for step_kind, step in steps_for(run.kind):
                try:
                    counts = step(account, adapter, now=run.started_at, progress=progress)
                except UpstreamError as exc:
                    errors.append(f"{step_kind}: {exc}")
                    logger.warning("sync %s of %s failed: %s", step_kind, account.pk, exc)
                    continue
                totals.add(counts)
                _store_counts(run, totals)
                succeeded += counts.from_upstream
    except Exception as exc:  # a bug must still end the run, with the reason, then surface
        errors.append(f"unexpected error: {type(exc).__name__}: {exc}")
        _finish(run, totals, errors, succeeded)
        raise
    _finish(run, totals, errors, succeeded)
    return run


def _store_counts(run: SyncRun, totals: SyncCounts, current: SyncCounts | None = None):
    running = SyncCounts()
    running.add(totals)
    if current is not None:
        running.add(current)
    run.rows_fetched = running.fetched
    run.rows_created = running.created
    run.rows_updated = running.updated
    run.rows_released = running.released
    run.save(update_fields=["rows_fetched", "rows_created", "rows_updated", "rows_released"])


def _finish(run: SyncRun, totals: SyncCounts, errors: list[str], succeeded: int):
    _store_counts(run, totals)
    if not errors:
        run.status = SyncRun.Status.SUCCEEDED
    elif succeeded:
        run.status = SyncRun.Status.PARTIAL
    else:
        run.status = SyncRun.Status.FAILED
    run.error = "\n".join(errors)
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
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
