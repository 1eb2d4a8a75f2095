"""The dashboard's panel of the alerts open now (settings.DASHBOARD_PANELS)."""

from alerts.selectors.alerts import open_alerts
from portal.dashboard import Panel

# Open alerts are few when the rules are sound; past this many, the history lists them all.
OPEN_ALERTS_SHOWN = 10


def open_alerts_panel(request):
    """The open alerts the user may see, newest first; no panel at all while none is open
    (quiet when nothing is wrong)."""
    if not request.user.has_perm("alerts.view_alert"):
        return None
    alerts = list(open_alerts(request.user)[: OPEN_ALERTS_SHOWN + 1])
    if not alerts:
        return None
    return Panel(
        "Alerts open now",
        "alerts/panels/open_alerts.html",
        {"alerts": alerts[:OPEN_ALERTS_SHOWN], "more": len(alerts) > OPEN_ALERTS_SHOWN},
        wide=True,
    )
