import json
import logging
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from portal.benchmark.run import Sizes, run, table

# The naive sync writes a row at a time: all 300,000 would add ten minutes to the run, so it
# writes this many per account and kind and its time is scaled up (the table says so).
NAIVE_LIMIT = 5_000


class Command(BaseCommand):
    help = (
        "Benchmark the portal at a reseller's size (100,000 numbers, 1,000,000 transactions) "
        "on a database of its own, made and dropped for the run; prints the figures and "
        "whether each target is met, and writes them as JSON."
    )

    def add_arguments(self, parser):
        defaults = Sizes()
        for name in (
            "numbers",
            "transactions",
            "small_numbers",
            "small_transactions",
            "sync_numbers",
            "sync_transactions",
            "sync_rounds",
            "requests",
        ):
            parser.add_argument(
                f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name)
            )
        parser.add_argument(
            "--naive-limit",
            type=int,
            default=NAIVE_LIMIT,
            help="rows per account and kind the naive sync writes, its time scaled up to all "
            "rows (0: all of them, ten minutes more)",
        )
        parser.add_argument("--output", type=Path, default=Path("bench-results.json"))
        parser.add_argument(
            "--keep-database", action="store_true", help="keep the benchmark database"
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark runs on PostgreSQL: set DATABASE_URL to one.")
        sizes = Sizes(
            **{name: options[name] for name in Sizes.__dataclass_fields__ if name in options}
            | {"naive_limit": options["naive_limit"] or None}
        )
        # As in production: no query log kept, error pages as users see them; the test
        # client's host allowed; no log line per upstream call.
        settings.DEBUG = False
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        logging.getLogger("portal").setLevel(logging.WARNING)
        logging.getLogger("axes").setLevel(logging.WARNING)  # a line per staff sign-in
        database = connection.settings_dict
        original_name = database["NAME"]
        database["TEST"] = {**database["TEST"], "NAME": f"{original_name}_bench"}
        keep = options["keep_database"]
        name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        self.stdout.write(f"Benchmark database {name}")
        try:
            results = run(sizes, say=self.stdout.write)
        finally:
            if not keep:
                connection.creation.destroy_test_db(original_name, verbosity=0)
        self.stdout.write(table(results))
        options["output"].write_text(json.dumps(results.as_json(), indent=2) + "\n")
        self.stdout.write(f"Figures written to {options['output']}")
        if not results.all_met:
            raise CommandError("Some targets were missed.")
        self.stdout.write(self.style.SUCCESS("Every target met."))
