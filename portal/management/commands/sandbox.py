import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.providers.sandbox import DEMO_CALLS, build_app, build_state
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.server import make_sandbox_server

# Also where `manage.py demo` syncs the demo accounts from, so both see one world.
DEFAULT_STATE = Path(settings.BASE_DIR) / "var" / "sandbox-state.json"


def duration(text: str) -> float:
    """'50ms', '0.2s' or '0.2' (seconds) → seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 50ms or 0.2s")
    value, unit = match.groups()
    seconds = float(value)
    return seconds / 1000 if unit == "ms" else seconds


class Command(BaseCommand):
    help = "Serve the simulated Audian, Vobiz, Ravan and TryVox APIs over HTTP."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--numbers", type=int, default=25, help="owned numbers per account")
        parser.add_argument("--transactions", type=int, default=200, help="ledger rows per account")
        parser.add_argument(
            "--inventory", type=int, default=30, help="numbers for sale per catalog block"
        )
        parser.add_argument(
            "--calls",
            type=int,
            default=DEMO_CALLS,
            help="call records per account, over the last 13 months",
        )
        parser.add_argument("--faults", type=float, default=0.0, help="share of requests failing")
        parser.add_argument("--latency", default="0ms", help="added to every request, e.g. 50ms")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--state",
            type=Path,
            default=DEFAULT_STATE,
            help="state file; kept across restarts (delete it for a new world)",
        )
        parser.add_argument("--reset", action="store_true", help="start a new world")

    def handle(self, *args, **options):
        try:
            latency = duration(options["latency"])
            faults = FaultConfig(rate=options["faults"], latency=latency, seed=options["seed"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        path = options["state"]
        if options["reset"] and path.exists():
            path.unlink()
        existed = path.exists()
        state = build_state(
            path,
            seed=options["seed"],
            numbers=options["numbers"],
            transactions=options["transactions"],
            inventory=options["inventory"],
            calls=options["calls"],
        )
        server = make_sandbox_server(build_app(state, faults), options["host"], options["port"])
        origin = f"http://{options['host']}:{server.server_port}"
        self.stdout.write(
            f"Sandbox serving Audian, Vobiz, Ravan and TryVox on {origin} "
            f"({'state kept in' if existed else 'new world saved to'} {path}; "
            f"faults {options['faults']:.0%}, latency {latency * 1000:.0f} ms)"
        )
        for account in state.data["accounts"].values():
            self.stdout.write(f"  {origin}/{account['provider']}/  account {account['account_id']}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Sandbox stopped.")
        finally:
            server.server_close()
