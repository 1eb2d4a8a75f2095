import logging
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from portal.demo import (
    DEFAULT_SANDBOX_URL,
    ensure_demo_accounts,
    ensure_demo_users,
    sync_from_sandbox,
)
from portal.management.commands.sandbox import DEFAULT_STATE
from portal.models import SyncRun
from portal.providers.capabilities import Capability
from portal.providers.sandbox import DEMO_CALLS, build_state
from portal.services.sync import SyncAlreadyRunning

SUCCEEDED = SyncRun.Status.SUCCEEDED


class Command(BaseCommand):
    help = (
        "Load demo data: a login per role and one sandbox account per provider, synced from "
        "the sandbox's world. Safe to run again: it only creates what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sandbox-url",
            default=DEFAULT_SANDBOX_URL,
            help=f"Origin of the provider sandbox the demo accounts use (default "
            f"{DEFAULT_SANDBOX_URL}).",
        )
        parser.add_argument(
            "--sandbox-state",
            type=Path,
            default=DEFAULT_STATE,
            help="The sandbox's state file, the world the accounts are synced from; the same "
            "file `manage.py sandbox` serves (default: var/sandbox-state.json).",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Give the demo users new passwords and print them.",
        )

    def handle(self, *args, sandbox_url, sandbox_state, reset_passwords, **options):
        origin = sandbox_origin(sandbox_url)
        try:
            state = build_state(sandbox_state, calls=DEMO_CALLS)
        except (OSError, ValueError) as exc:
            raise CommandError(
                f"--sandbox-state {sandbox_state}: not a usable sandbox state file ({exc}). "
                "Delete it to start a new world."
            ) from None
        # All or nothing: a demo whose accounts could not be synced leaves no trace.
        try:
            with transaction.atomic():
                logins = ensure_demo_users(reset_passwords=reset_passwords)
                accounts = ensure_demo_accounts(origin)
                with _quiet("portal.providers"):
                    sync_from_sandbox(accounts, state)
                failed = [d.run for d in accounts if d.run and d.run.status != SUCCEEDED]
                if failed:
                    raise CommandError(
                        "The demo accounts could not be synced from the sandbox, so nothing "
                        "was saved:\n"
                        + "\n".join(f"  {run.account}: {run.error}" for run in failed)
                    )
        except Group.DoesNotExist:
            raise CommandError(
                "The role groups are missing: run `manage.py migrate` first."
            ) from None
        except SyncAlreadyRunning as exc:
            raise CommandError(f"{exc} Try again when it has finished.") from None

        self.stdout.write(f"Demo accounts, from the sandbox world in {sandbox_state}:")
        for demo in accounts:
            self._write_account(demo)
        if not any(demo.run or demo.status != "unchanged" for demo in accounts):
            self.stdout.write("Nothing new: the demo data was already loaded.")
        self.stdout.write("")
        self._write_logins(logins)

    def _write_account(self, demo):
        account = demo.account
        change = "" if demo.status == "unchanged" else f", account {demo.status}"
        self.stdout.write(
            f"  {account.provider.name:<7} {account.name} ({account.currency}) "
            f"at {account.base_url}{change}"
        )
        if demo.run is None:
            first = account.sync_runs.filter(status=SUCCEEDED).earliest()
            when = timezone.localtime(first.finished_at)
            self.stdout.write(f"          already synced on {when:%Y-%m-%d %H:%M %Z}")
            return
        billing = (
            "transactions"
            if account.provider.supports(Capability.TRANSACTIONS)
            else "estimated rentals"
        )
        calls = ", call records" if account.provider.supports(Capability.CALL_RECORDS) else ""
        rows = demo.run.rows_created
        self.stdout.write(f"          synced numbers, {billing}{calls} and balance: {rows} rows")

    def _write_logins(self, logins):
        shown = [login for login in logins if login.password]
        if shown:
            self.stdout.write(self.style.WARNING("Demo logins (shown once — note them now):"))
            for login in shown:
                self.stdout.write(f"  {login.username:<8} / {login.password}   ({login.role})")
        kept = [login for login in logins if not login.password]
        if kept:
            names = ", ".join(f"{login.username} ({login.role})" for login in kept)
            self.stdout.write(f"Demo logins already set up: {names}.")
            self.stdout.write(
                "Their passwords were shown when they were created; "
                "`python manage.py demo --reset-passwords` prints new ones."
            )


def sandbox_origin(url: str) -> str:
    """`scheme://host[:port]` of an http(s) URL with no path: the sandbox serves each
    provider at /{slug}/, and the demo syncs from it in process by those paths alone."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise CommandError(f"--sandbox-url {url!r} is not an http(s) URL.") from None
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise CommandError(
            f"--sandbox-url {url!r} must be an origin such as {DEFAULT_SANDBOX_URL}, with no path."
        )
    return f"{parts.scheme}://{parts.netloc}"


@contextmanager
def _quiet(logger_name: str):
    """Log only warnings from `logger_name` meanwhile: the demo's in-process requests to the
    sandbox are loading, not upstream traffic worth a line each."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
