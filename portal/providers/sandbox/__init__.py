"""The simulator's server shell, for tests, the demo and development: one WSGI application
(`app`) serving every provider's simulator (portal/providers/<slug>/simulator.py) over the
shared state (`state`, `world`), with injected faults (`faults`).

`build_app()` makes the WSGI application; `manage.py sandbox` serves it on a port.
"""

from __future__ import annotations

from pathlib import Path

from portal.providers.sandbox.accounts import DEMO_ACCOUNTS
from portal.providers.sandbox.app import SandboxApp
from portal.providers.sandbox.faults import FaultConfig
from portal.providers.sandbox.simulated import load_simulators
from portal.providers.sandbox.state import SandboxState

PROVIDERS = load_simulators()
# Call records per account in a world made for people to look at (`manage.py sandbox`,
# `manage.py demo`); tests ask for calls where they need them.
DEMO_CALLS = 400


def build_state(
    path: Path | None = None,
    *,
    seed: int = 1,
    numbers: int = 25,
    transactions: int = 200,
    inventory: int = 30,
    calls: int = 0,
    accounts=DEMO_ACCOUNTS,
) -> SandboxState:
    """The world in the state file at `path` if there is one, else a new one from the seed
    (saved to `path` when given)."""
    if path is not None and Path(path).exists():
        return SandboxState.load(Path(path))
    state = SandboxState.generate(
        {slug: provider.catalog for slug, provider in PROVIDERS.items()},
        accounts,
        seed=seed,
        numbers=numbers,
        transactions=transactions,
        inventory=inventory,
        calls=calls,
        path=Path(path) if path is not None else None,
    )
    state.save()
    return state


def base_url(origin: str, slug: str) -> str:
    """The base URL an adapter of provider `slug` uses for a sandbox at `origin`
    (`http://127.0.0.1:8100`): the provider's prefix, then its API path."""
    return f"{origin.rstrip('/')}/{slug}{PROVIDERS[slug].api_path}"


def build_app(state: SandboxState | None = None, faults: FaultConfig | None = None) -> SandboxApp:
    return SandboxApp(state or build_state(), faults)
