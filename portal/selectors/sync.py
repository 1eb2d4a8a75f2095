from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Subquery

from portal.models import ProviderAccount, SyncRun


def accounts_with_last_sync():
    """Every account with its most recent sync run's status and times (one query)."""
    latest = SyncRun.objects.filter(account=OuterRef("pk")).order_by("-started_at")
    return (
        ProviderAccount.objects.select_related("provider")
        .annotate(
            last_sync_status=Subquery(latest.values("status")[:1]),
            last_sync_started_at=Subquery(latest.values("started_at")[:1]),
            last_sync_finished_at=Subquery(latest.values("finished_at")[:1]),
        )
        .order_by("provider__name", "name")
    )


def has_accounts() -> bool:
    return ProviderAccount.objects.exists()


@dataclass(frozen=True)
class Freshness:
    """How fresh the synced data is: when the stalest active account last synced well
    (None while one never has), and the accounts to name, whose last sync failed (in part)
    or that never synced."""

    synced_at: datetime | None
    failed: list[str]
    partial: list[str]
    never_synced: list[str]


def sync_freshness() -> Freshness:
    """The active accounts' last sync and last successful sync, in one query."""
    runs = SyncRun.objects.filter(account=OuterRef("pk"))
    latest_success = (
        runs.filter(status=SyncRun.Status.SUCCEEDED).order_by("-finished_at").values("finished_at")
    )
    accounts = (
        ProviderAccount.objects.filter(is_active=True)
        .annotate(
            synced_at=Subquery(latest_success[:1]),
            last_status=Subquery(runs.order_by("-started_at").values("status")[:1]),
        )
        .order_by("provider__name", "name")
        .values_list("name", "synced_at", "last_status")
    )
    failed, partial, never, times = [], [], [], []
    for name, synced_at, last_status in accounts:
        times.append(synced_at)
        if last_status in (SyncRun.Status.FAILED, SyncRun.Status.INTERRUPTED):
            failed.append(name)
        elif last_status == SyncRun.Status.PARTIAL:
            partial.append(name)
        elif synced_at is None:
            never.append(name)
    synced_at = min(times) if times and None not in times else None
    return Freshness(synced_at, failed, partial, never)
