from django_tasks import task

from portal.models import SyncRun
from portal.services.sync import sync_account


@task()
def run_queued_sync(run_id: int) -> str:
    """Run a sync queued by the "Sync now" button (see portal.views.start_sync)."""
    run = SyncRun.objects.select_related("account__provider", "triggered_by").get(pk=run_id)
    if run.status != SyncRun.Status.QUEUED:
        return run.status  # already run (a task delivered twice must not sync twice)
    return sync_account(run.account, run.kind, run.triggered_by, run=run).status
