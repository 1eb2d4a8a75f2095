"""An admin starts a sync from the dashboard, watches its progress, then sees the figures."""

from django.core.management import call_command
from playwright.sync_api import expect

from portal.providers.sandbox import build_app, build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import SandboxThread
from tests.support.world import World


def test_sync_now_shows_progress_then_the_new_figures(log_in, admin_user):
    state = build_state(numbers=7, transactions=5, inventory=2)
    with SandboxThread(build_app(state, FaultConfig())) as url:
        World(state, url)
        page = log_in(admin_user)
        expect(page.get_by_text("Never synced").first).to_be_visible()
        expect(page.get_by_test_id("numbers-by-provider")).to_have_count(0)

        page.get_by_test_id("sync-now").click()
        progress = page.get_by_test_id("sync-progress")
        expect(progress.get_by_text("Queued")).to_have_count(4)

        # The task worker picks the queued runs up while the page keeps polling.
        call_command("db_worker", "--batch", "--no-startup-delay")
        expect(progress.get_by_text("Succeeded")).to_have_count(4, timeout=10_000)

        table = page.get_by_test_id("numbers-by-provider")
        expect(table).to_be_visible()
        for provider in ("Audian", "Ravan", "TryVox", "Vobiz"):
            expect(table.get_by_role("row", name=f"{provider} 7")).to_have_count(1)
        expect(page.get_by_text("Never synced")).to_have_count(0)


def test_a_double_click_on_sync_now_starts_one_sync_and_keeps_its_progress(log_in, admin_user):
    """Issue 17 (8): a double click sent two POSTs, and the second answer replaced the
    progress with "already in progress"."""
    state = build_state(numbers=2, transactions=1, inventory=1)
    with SandboxThread(build_app(state, FaultConfig())) as url:
        World(state, url)
        page = log_in(admin_user)
        posts = []
        page.on(
            "request",
            lambda request: (
                posts.append(request.url)
                if request.method == "POST" and "/sync/start/" in request.url
                else None
            ),
        )

        page.get_by_test_id("sync-now").dblclick()

        progress = page.get_by_test_id("sync-progress")
        expect(progress.get_by_text("Queued")).to_have_count(4)
        expect(page.get_by_test_id("sync-now")).to_be_enabled()
        assert len(posts) == 1
        expect(progress).not_to_contain_text("already in progress")
