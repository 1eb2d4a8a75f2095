"""The ways a sync starts: the command, the "Sync now" buttons (a queued task) and the
progress the pages poll."""

import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from portal.models import ProviderAccount, SyncRun
from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from tests.support.factories import SyncRunFactory
from tests.support.world import World

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(db):
    state = build_state(numbers=8, transactions=6, inventory=2)
    with SandboxThread(build_app(state, FaultConfig())) as url:
        yield World(state, url)


def test_command_syncs_every_active_account_and_prints_a_summary(world, capsys):
    ProviderAccount.objects.filter(provider__slug="ravan").update(is_active=False)
    call_command("sync")
    out = capsys.readouterr().out
    assert "Audian" in out and "Succeeded" in out
    assert "Ravan" not in out
    assert "synced 3 account(s), 0 failed, 0 skipped." in out
    assert SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).count() == 3


def test_command_only_one_kind_for_one_account(world, capsys):
    account = world.accounts["vobiz"]
    call_command("sync", "--account", str(account.pk), "--only", "balance")
    run = SyncRun.objects.get()
    assert (run.account, run.kind, run.rows_fetched) == (account, "balance", 1)


def test_command_exits_non_zero_when_a_sync_fails(world, capsys):
    ProviderAccount.objects.filter(provider__slug="audian").update(api_secret="wrong-key")
    with pytest.raises(CommandError, match="Some syncs failed"):
        call_command("sync")
    out = capsys.readouterr().out
    assert "Audian" in out and "Failed" in out
    assert "wrong-key" not in out


def test_command_refuses_unknown_accounts(world):
    with pytest.raises(CommandError, match="No provider account with id 999"):
        call_command("sync", "--account", "999")


# The worker closes connections between tasks, as it must in production: outside a test
# transaction, so that closing does not end the test's own transaction.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sync_now_queues_a_task_that_the_worker_runs(client, world, support_user):
    client.force_login(support_user)
    response = client.post(reverse("start_sync"), **HTMX)
    assert response.status_code == 200
    runs = SyncRun.objects.all()
    assert runs.count() == 4
    assert {run.status for run in runs} == {SyncRun.Status.QUEUED}
    assert b'hx-trigger="every 1s"' in response.content  # the page polls the runs
    assert "HX-Trigger" not in response
    call_command("db_worker", "--batch", "--no-startup-delay")
    assert {run.status for run in SyncRun.objects.all()} == {SyncRun.Status.SUCCEEDED}
    assert {run.triggered_by for run in SyncRun.objects.all()} == {support_user}
    ids = "&".join(f"run={run.pk}" for run in runs)
    progress = client.get(f"{reverse('sync_progress')}?{ids}", **HTMX)
    assert progress["HX-Trigger"] == "sync-finished"
    assert b"every 1s" not in progress.content
    assert b"Succeeded" in progress.content


def test_sync_now_for_one_account_and_when_one_is_running(client, world, admin_user):
    client.force_login(admin_user)
    account = world.accounts["tryvox"]
    client.post(reverse("start_sync_account", args=[account.pk]), **HTMX)
    again = client.post(reverse("start_sync_account", args=[account.pk]), **HTMX)
    assert b"Tryvox" in again.content or b"TryVox" in again.content
    assert SyncRun.objects.filter(account=account).count() == 1


def test_sync_now_without_javascript_redirects_with_a_message(client, world, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("start_sync"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("sync_runs")
    assert b"Sync started for 4 account(s)." in response.content


def test_finance_may_sync_but_not_without_the_permission(client, world, finance_user, plain_user):
    client.force_login(plain_user)
    assert client.post(reverse("start_sync")).status_code == 403
    assert client.get(reverse("sync_progress")).status_code == 403
    client.force_login(finance_user)
    assert client.post(reverse("start_sync"), **HTMX).status_code == 200


def test_progress_rejects_bad_ids(client, world, support_user):
    client.force_login(support_user)
    assert client.get(reverse("sync_progress") + "?run=abc").status_code == 400


def test_progress_opened_as_a_page_leads_to_the_sync_page(client, db, support_user):
    # The progress is a fragment htmx polls for; opened in the address bar it would be a
    # page without layout, navigation or styles.
    client.force_login(support_user)
    run = SyncRunFactory()
    response = client.get(f"{reverse('sync_progress')}?run={run.pk}")
    assert response.status_code == 302 and response.url == reverse("sync_runs")
    fragment = client.get(f"{reverse('sync_progress')}?run={run.pk}", **HTMX).content
    assert fragment.lstrip().startswith(b'<div id="sync-progress"')


def test_status_page_lists_runs_with_figures_and_errors(client, world, support_user):
    ProviderAccount.objects.filter(provider__slug="ravan").update(api_secret="wrong-key")
    with pytest.raises(CommandError):
        call_command("sync", "--account", str(world.accounts["ravan"].pk))
    client.force_login(support_user)
    html = client.get(reverse("sync_runs")).content.decode()
    assert '<span class="badge text-bg-danger">Failed</span>' in html
    assert "Ravan" in html and "API key is missing or invalid" in html


def test_lists_say_how_fresh_their_data_is(client, world, support_user):
    client.force_login(support_user)
    assert b"Not synced yet: Audian sandbox" in client.get(reverse("numbers:list")).content
    call_command("sync")
    html = client.get(reverse("numbers:list")).content.decode()
    assert "Synced" in html and "just now" in html


# --- Issue 17 (8): wording and consistency -------------------------------------------------


def test_opening_the_start_address_leads_to_the_sync_page(client, db, support_user):
    """A GET on /sync/start/ answered a blank 405."""
    client.force_login(support_user)
    for url in (reverse("start_sync"), reverse("start_sync_account", args=[1])):
        response = client.get(url)
        assert response.status_code == 302 and response.url == reverse("sync_runs")
    assert not SyncRun.objects.exists()


def test_starting_again_while_a_sync_runs_shows_that_syncs_progress(client, world, admin_user):
    """A double click replaced the progress with "already in progress"."""
    client.force_login(admin_user)
    account = world.accounts["tryvox"]
    first = client.post(reverse("start_sync_account", args=[account.pk]), **HTMX)
    again = client.post(reverse("start_sync_account", args=[account.pk]), **HTMX)
    run = SyncRun.objects.get(account=account)
    polled = re.compile(r'hx-get="/sync/progress/\?([^"]*)" hx-trigger="every 1s"')
    html = again.content.decode()
    assert "already in progress" not in html and "TryVox global" in html
    assert polled.search(html).group(1) == polled.search(first.content.decode()).group(1)
    assert polled.search(html).group(1) == f"run={run.pk}"
    everything = client.post(reverse("start_sync"), **HTMX).content.decode()
    assert SyncRun.objects.count() == 4
    assert polled.search(everything).group(1) == "&amp;".join(
        f"run={pk}"
        for pk in SyncRun.objects.order_by("account__provider__name").values_list("pk", flat=True)
    )


def test_sync_buttons_are_disabled_while_their_request_is_on_its_way(client, world, admin_user):
    client.force_login(admin_user)
    for page in (reverse("sync_runs"), reverse("dashboard")):
        html = client.get(page).content.decode()
        forms = re.findall(r"<form[^>]*hx-post=\"/sync/start/[^>]*>", html)
        assert forms, page
        assert all('hx-disabled-elt="find button"' in form for form in forms), page


def freshness(client) -> str:
    """The text under a list's heading that says how fresh its data is."""
    html = client.get(reverse("numbers:list")).content.decode()
    span = re.search(r'data-testid="freshness">(.*?)</span>\n', html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", span).split())


def test_freshness_says_just_now_and_names_the_accounts_whose_sync_failed(
    client, world, support_user
):
    """ "0 minutes ago"; and "Not every account has synced yet" for a failed sync."""
    client.force_login(support_user)
    call_command("sync")
    assert freshness(client).startswith("Synced just now")
    ProviderAccount.objects.filter(provider__slug="ravan").update(api_secret="wrong-key")
    with pytest.raises(CommandError):
        call_command("sync", "--account", str(world.accounts["ravan"].pk))
    assert freshness(client).startswith("Synced just now · Last sync failed: Ravan voice agents")
    SyncRun.objects.all().delete()
    assert freshness(client).startswith(
        "Not synced yet: Audian sandbox, Ravan voice agents, TryVox global, Vobiz India"
    )


def test_the_sync_page_writes_dates_as_every_page_does_and_dashes_only_errors(
    client, world, support_user
):
    """ "Dec 7, 06:31:53" beside "2026-12-07 06:31"; a red "—" for every success; an
    error column that broke words."""
    call_command("sync", "--account", str(world.accounts["audian"].pk))
    run = SyncRun.objects.get()
    client.force_login(support_user)
    html = client.get(reverse("sync_runs")).content.decode()
    started = timezone.localtime(run.started_at).strftime("%Y-%m-%d %H:%M")
    assert f">{started}</td>" in html
    cells = re.findall(r'<td class="([^"]*)">\s*—\s*</td>', html)
    assert cells and not any("text-danger" in classes for classes in cells)
    assert "text-break" not in html
