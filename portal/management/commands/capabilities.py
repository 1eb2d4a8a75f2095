import re

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.providers import capability_table

START, END = "<!-- capabilities:start -->", "<!-- capabilities:end -->"


class Command(BaseCommand):
    help = "Print the provider capability table, or write it into README.md (--write)."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help="update README.md in place")

    def handle(self, *args, **options):
        table = capability_table()
        if not options["write"]:
            self.stdout.write(table)
            return
        readme = settings.BASE_DIR / "README.md"
        text = readme.read_text()
        pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
        if not pattern.search(text):
            raise CommandError(f"README.md has no {START} … {END} block")
        readme.write_text(pattern.sub(lambda _: f"{START}\n{table}\n{END}", text))
        self.stdout.write("README.md capability table updated.")
