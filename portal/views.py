from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.contrib.auth.views import LogoutView
from django.db import connection
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django.views.generic import TemplateView

from portal.dashboard import panels_for
from portal.filters import SyncRunFilter
from portal.lists import FilteredTableView
from portal.models import ProviderAccount, SyncRun
from portal.selectors.sync import accounts_with_last_sync, has_accounts
from portal.tables import SyncRunTable
from portal.tasks import start_syncs


class DashboardView(TemplateView):
    template_name = "portal/dashboard.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            panels=panels_for(self.request), has_accounts=has_accounts(), **kwargs
        )


@login_not_required
@never_cache
@require_GET
def health(request):
    """For load balancers and `make run`: 200 when the app can reach its database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any database failure means "not healthy", and says why
        return JsonResponse({"status": "error", "database": type(exc).__name__}, status=503)
    return JsonResponse({"status": "ok"})


@login_not_required
@require_GET
def favicon(request):
    return redirect(static("portal/favicon.svg"), permanent=True)


class SignOutView(LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


class SyncRunListView(FilteredTableView):
    """Recent sync runs with their figures and errors, and the buttons that start one."""

    permission_required = "portal.view_syncrun"
    model = SyncRun
    table_class = SyncRunTable
    filterset_class = SyncRunFilter
    template_name = "portal/sync_runs.html"

    def get_queryset(self):
        return SyncRun.objects.select_related("account__provider", "triggered_by")

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            accounts=accounts_with_last_sync().filter(is_active=True), **kwargs
        )


SYNC_PROGRESS = "portal/sync_runs.html#sync_progress"


def render_progress(request, runs):
    """The progress partial: polls while a run is in progress; once all have ended it
    tells the page (HX-Trigger: sync-finished) to refresh what the sync changed."""
    polling = any(run.status in SyncRun.IN_PROGRESS for run in runs)
    context = {
        "runs": runs,
        "polling": polling,
        "run_query": urlencode([("run", run.pk) for run in runs]),
    }
    response = render(request, SYNC_PROGRESS, context)
    if runs and not polling:
        response["HX-Trigger"] = "sync-finished"
    return response


@permission_required("portal.run_sync", raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def start_sync(request, account_id=None):
    """Queue a sync of one account (or of every active one) for the task worker, and answer
    with progress that polls each run until it ends. An account already syncing (a second
    click) is not queued again: its running sync's progress is shown instead. Opened as a
    page, the address leads to the sync page, where the buttons are."""
    if request.method != "POST":
        return redirect("sync_runs")
    accounts = ProviderAccount.objects.filter(is_active=True).select_related("provider")
    if account_id is not None:
        accounts = [get_object_or_404(accounts, pk=account_id)]
    start = start_syncs(accounts, actor=request.user)
    if request.htmx:
        return render_progress(request, start.runs)
    if start.started:
        messages.success(request, f"Sync started for {start.started} account(s).")
    for account in start.already:
        messages.info(request, f"{account}: a sync was already in progress; it goes on.")
    return redirect("sync_runs")


@permission_required("portal.view_syncrun", raise_exception=True)
@require_GET
def sync_progress(request):
    """The progress of the runs named in `?run=`; polled by htmx until all have ended."""
    try:
        ids = [int(value) for value in request.GET.getlist("run")][:50]
    except ValueError:
        return HttpResponseBadRequest("run must be a sync run id")
    if not request.htmx:  # opened as a page: the fragment alone would be a broken one
        return redirect("sync_runs")
    # An id no row can have (the databases hold 64-bit ids) matches nothing; as a query
    # parameter it would overflow the database driver.
    ids = [pk for pk in ids if 0 < pk < 2**63]
    runs = list(SyncRun.objects.filter(pk__in=ids).select_related("account__provider"))
    return render_progress(request, runs)
