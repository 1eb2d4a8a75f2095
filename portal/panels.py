from portal.dashboard import Panel
from portal.models import SyncRun
from portal.selectors.sync import accounts_with_last_sync


def last_sync_per_account(request):
    if not request.user.has_perm("portal.view_syncrun"):
        return None
    return Panel(
        "Last sync per account",
        "portal/panels/last_sync.html",
        {"accounts": accounts_with_last_sync(), "statuses": SyncRun.Status},
    )
