"""What the alerts app hears from the core (settings.SYNC_FINISHED_HOOKS)."""

from alerts.tasks import evaluate_account_alerts
from portal.models import SyncRun


def sync_finished(run: SyncRun) -> None:
    """Evaluate the account's rules on the task workers: the sync does not wait for it,
    and nothing the evaluation does can fail the sync."""
    evaluate_account_alerts.enqueue(run.account_id)
