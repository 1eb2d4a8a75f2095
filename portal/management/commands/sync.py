import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.models import ProviderAccount, SyncRun
from portal.services.sync import SyncAlreadyRunning, interrupt_abandoned_runs, sync_account


class Command(BaseCommand):
    help = "Sync provider accounts: owned numbers, transactions and balances."

    def add_arguments(self, parser):
        parser.add_argument(
            "--account",
            type=int,
            action="append",
            help="account id (repeatable); default: all active",
        )
        parser.add_argument(
            "--only",
            choices=[
                SyncRun.Kind.NUMBERS,
                SyncRun.Kind.TRANSACTIONS,
                SyncRun.Kind.BALANCE,
                SyncRun.Kind.CALLS,
            ],
            default=SyncRun.Kind.ALL,
        )
        parser.add_argument(
            "--every", type=int, metavar="SECONDS", help="keep syncing, a round every SECONDS"
        )
        parser.add_argument(
            "--start-after",
            type=int,
            default=0,
            metavar="SECONDS",
            help="with --every: wait this long before the first round (let the upstream start)",
        )

    def handle(self, *args, **options):
        accounts = self.accounts(options["account"])
        if options["every"] is None:
            failed, skipped = self.sync_round(accounts, options["only"])
            if failed or skipped:
                raise CommandError(
                    f"Some syncs failed ({failed}) or were skipped ({skipped}); see above."
                )
            return
        if options["every"] < 1:
            raise CommandError("--every needs at least 1 second.")
        time.sleep(options["start_after"])
        while True:  # a scheduler: runs until stopped (make run stops it with the server)
            started = time.monotonic()
            self.sync_round(self.accounts(options["account"]), options["only"])
            time.sleep(max(0.0, options["every"] - (time.monotonic() - started)))

    def accounts(self, ids):
        accounts = ProviderAccount.objects.select_related("provider").order_by(
            "provider__name", "name"
        )
        if not ids:
            return list(accounts.filter(is_active=True))
        found = list(accounts.filter(pk__in=ids))
        missing = set(ids) - {account.pk for account in found}
        if missing:
            raise CommandError(
                f"No provider account with id {', '.join(map(str, sorted(missing)))}."
            )
        return found

    def sync_round(self, accounts, kind) -> tuple[int, int]:
        """Sync each account once; return how many failed and how many were skipped (a
        sync of theirs was already in progress). Runs past their deadline, of any account,
        are ended first, so one stuck run cannot keep its account from syncing."""
        failures = skipped = 0
        for run in interrupt_abandoned_runs():
            self.stdout.write(
                self.style.WARNING(
                    f"Ended run #{run.pk} of {run.account.provider.name} · {run.account.name}, "
                    f"started {self.when(run.started_at)}: {run.error}"
                )
            )
        for account in accounts:
            label = f"{account.provider.name} · {account.name}"
            self.stdout.write(f"{label}: syncing {kind}…")
            try:
                run = sync_account(account, kind)
            except SyncAlreadyRunning as exc:
                skipped += 1
                self.stdout.write(self.style.WARNING(f"{label}: skipped, {self.holding(exc)}"))
                continue
            duration = run.duration.total_seconds()
            figures = (
                f"{run.rows_fetched} fetched, {run.rows_created} created, "
                f"{run.rows_updated} updated, {run.rows_released} released in {duration:.1f} s"
            )
            if run.status == SyncRun.Status.SUCCEEDED:
                self.stdout.write(
                    self.style.SUCCESS(f"{label}: {run.get_status_display()}: {figures}")
                )
            else:
                failures += 1
                self.stdout.write(
                    self.style.ERROR(f"{label}: {run.get_status_display()}: {figures}")
                )
                for line in run.error.splitlines():
                    self.stdout.write(f"    {line}")
        self.stdout.write(
            f"{timezone.localtime():%Y-%m-%d %H:%M:%S} synced {len(accounts) - skipped} "
            f"account(s), {failures} failed, {skipped} skipped."
        )
        return failures, skipped

    def holding(self, refusal: SyncAlreadyRunning) -> str:
        """Which run holds the account: since when, on which worker."""
        run = refusal.holder
        if run is None:
            return "a sync was already in progress"
        state = "queued" if run.status == SyncRun.Status.QUEUED else "running"
        where = f" on worker {run.worker}" if run.worker else ""
        return f"run #{run.pk} holds it ({state} since {self.when(run.started_at)}{where})"

    @staticmethod
    def when(moment) -> str:
        return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S}"
