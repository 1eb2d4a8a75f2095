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


def last_complete_sync():
    """When the stalest active account last synced successfully: every list is at least
    this fresh. None when some active account has never synced successfully."""
    latest_success = (
        SyncRun.objects.filter(account=OuterRef("pk"), status=SyncRun.Status.SUCCEEDED)
        .order_by("-finished_at")
        .values("finished_at")[:1]
    )
    times = list(
        ProviderAccount.objects.filter(is_active=True)
        .annotate(synced_at=Subquery(latest_success))
        .values_list("synced_at", flat=True)
    )
    if not times or None in times:
        return None
    return min(times)
