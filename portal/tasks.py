"""Background work for the task workers (`manage.py db_worker`), and what queues it."""

from dataclasses import dataclass, field

from django_tasks import task

from portal.models import ProviderAccount, SyncRun
from portal.services.sync import SyncAlreadyRunning, queue_sync, sync_account


@task()
def run_queued_sync(run_id: int) -> str:
    """Run a sync queued by the "Sync now" button (see start_syncs)."""
    run = SyncRun.objects.select_related("account__provider", "triggered_by").get(pk=run_id)
    if run.status != SyncRun.Status.QUEUED:
        return run.status  # already run (a task delivered twice must not sync twice)
    return sync_account(run.account, run.kind, actor=run.triggered_by, run=run).status


@dataclass
class SyncStart:
    """What "Sync now" did: the runs to follow (new ones and those already going), how
    many it queued, and the accounts it found already syncing."""

    runs: list[SyncRun] = field(default_factory=list)
    started: int = 0
    already: list[ProviderAccount] = field(default_factory=list)


def start_syncs(accounts, *, actor) -> SyncStart:
    """Queue a sync of each account for the task workers. An account already syncing (a
    second click) is not queued again: its running sync is followed instead."""
    start = SyncStart()
    for account in accounts:
        try:
            run = queue_sync(account, actor=actor)
        except SyncAlreadyRunning:
            start.already.append(account)
            run = running_sync(account)  # None if it ended meanwhile: nothing to follow
            if run is not None:
                start.runs.append(run)
            continue
        run_queued_sync.enqueue(run.pk)
        run.refresh_from_db()  # a backend that runs tasks at once has finished it already
        start.runs.append(run)
        start.started += 1
    return start


def running_sync(account) -> SyncRun | None:
    """The account's sync that is queued or running now, if it has not just ended."""
    return (
        SyncRun.objects.filter(account=account, status__in=SyncRun.IN_PROGRESS)
        .select_related("account__provider")
        .order_by("-started_at")
        .first()
    )
