"""A bounded load test: staff browsing and filtering the portal at once, over real HTTP to
gunicorn on loopback, for a fixed time. It stops by itself; every answer other than 2xx or
3xx, and every request that fails or times out, is an error.

Each simulated user is signed in as a support or finance user and goes round the pages
that role uses, plain and as htmx partials, with the filters people actually set.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.shortcuts import resolve_url

from portal.benchmark.measure import Latency, latency
from portal.benchmark.pages import HTMX_SPEND, HTMX_TABLE
from portal.benchmark.server import gunicorn, production_env, session_cookie

REQUEST_TIMEOUT = 30.0  # seconds: a request slower than this is an error, not a wait


@dataclass(frozen=True)
class Visit:
    path: str
    headers: dict | None = None


def support_visits(number_ids: Sequence[int], labels: Sequence[str]) -> list[Visit]:
    """What support staff do: find numbers by digits, label, provider, status; sort and
    page; open a number."""
    visits = [
        Visit("/"),
        Visit("/numbers/"),
        Visit("/numbers/?status=active&sort=label"),
        Visit("/numbers/?provider=vobiz", HTMX_TABLE),
        Visit("/numbers/?q=415", HTMX_TABLE),
        Visit("/numbers/?page=2&per_page=25", HTMX_TABLE),
        Visit("/numbers/orders/"),
        Visit("/numbers/buy/"),
    ]
    visits += [Visit(f"/numbers/?q={label}", HTMX_TABLE) for label in labels]
    visits += [Visit(f"/numbers/{pk}/") for pk in number_ids]
    return visits


def finance_visits(number_ids: Sequence[int]) -> list[Visit]:
    """What finance staff do: transactions filtered and as partials, spend reports,
    balances and plans."""
    visits = [
        Visit("/"),
        Visit("/billing/transactions/"),
        Visit("/billing/transactions/?kind=usage", HTMX_TABLE),
        Visit("/billing/transactions/?provider=audian&sort=-amount", HTMX_TABLE),
        Visit("/billing/spend/"),
        Visit("/billing/spend/?by=label", HTMX_SPEND),
        Visit("/billing/spend/?by=account", HTMX_SPEND),
        Visit("/billing/balances/"),
        Visit("/billing/plans/"),
        Visit("/numbers/?sort=-monthly_fee"),
    ]
    visits += [Visit(f"/numbers/{pk}/") for pk in number_ids[:3]]
    return visits


@dataclass
class LoadResult:
    users: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # The users' threads record into one result.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, latency: float, error: str):
        with self._lock:
            if error:
                self.errors.append(error)
            else:
                self.latencies_ms.append(latency)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + len(self.errors)

    @property
    def latency(self) -> Latency:
        if len(self.latencies_ms) < 2:
            return Latency(p50=0.0, p95=0.0, samples=len(self.latencies_ms))
        return latency(self.latencies_ms)

    @property
    def p50_ms(self) -> float:
        return self.latency.p50

    @property
    def p95_ms(self) -> float:
        return self.latency.p95

    @property
    def max_ms(self) -> float:
        return max(self.latencies_ms, default=0.0)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"{self.users} users for {self.seconds:.0f} s: {self.requests} requests "
            f"({self.per_second:.1f}/s), {len(self.errors)} errors; latency p50 "
            f"{self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, max {self.max_ms:.0f} ms"
        )

    def as_json(self) -> dict:
        return {
            "users": self.users,
            "seconds": round(self.seconds, 1),
            "requests": self.requests,
            "per_second": round(self.per_second, 1),
            "errors": len(self.errors),
            "error_examples": self.errors[:5],
            "p50_ms": round(self.p50_ms, 1),
            "p95_ms": round(self.p95_ms, 1),
            "max_ms": round(self.max_ms, 1),
        }


def run_load(
    users: Sequence[tuple[object, list[Visit]]], seconds: float, *, workers: int = 2
) -> LoadResult:
    """Each (user, visits) browses its visits, picked at random, without pause, against
    gunicorn with `workers` workers, until `seconds` have passed; then stops, by itself."""
    sessions = [(session_cookie(user), visits) for user, visits in users]
    with gunicorn(production_env(), workers=workers) as (origin, _):
        return _browse_together(origin, sessions, seconds)


def _browse_together(
    origin: str, sessions: list[tuple[str, list[Visit]]], seconds: float
) -> LoadResult:
    result = LoadResult(users=len(sessions), seconds=seconds)
    stop = threading.Event()
    with ExitStack() as clients:
        # Clients made before the clock starts: building one (its SSL context) is not load.
        http_clients = [
            clients.enter_context(_signed_in_client(origin, cookie)) for cookie, _ in sessions
        ]
        threads = [
            threading.Thread(target=_browse, args=(index, http, visits, stop, result), daemon=True)
            for index, (http, (_, visits)) in enumerate(zip(http_clients, sessions, strict=True))
        ]
        began = time.monotonic()
        try:
            for thread in threads:
                thread.start()
            time.sleep(seconds)
        finally:
            # The run's length ends here, not after the last requests in flight return.
            result.seconds = time.monotonic() - began
            # Also on Ctrl-C: the users stop after their current request, gunicorn after them.
            stop.set()
            stuck = _join_by(threads, time.monotonic() + REQUEST_TIMEOUT + 5)
    result.errors += [f"user {index}: still waiting at the hard deadline" for index in stuck]
    return result


def _browse(
    index: int, http: httpx.Client, visits: list[Visit], stop: threading.Event, result: LoadResult
):
    """One user: a random visit after another, without pause, until `stop`."""
    rng = random.Random(index)  # noqa: S311 (seeded: the same mix every run)
    try:
        while not stop.is_set():
            result.record(*_visit(http, rng.choice(visits)))
    # Anything at all: a user whose thread died must count as an error, not just go quiet.
    except Exception as exc:
        result.record(0.0, f"user {index}: {type(exc).__name__}: {exc}")


def _signed_in_client(origin: str, cookie: str) -> httpx.Client:
    return httpx.Client(
        base_url=origin, cookies={settings.SESSION_COOKIE_NAME: cookie}, timeout=REQUEST_TIMEOUT
    )


def _join_by(threads: list[threading.Thread], deadline: float) -> list[int]:
    """Waits for the threads until `deadline` (one deadline for all, so the run is bounded);
    the indexes of those still running then."""
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return [index for index, thread in enumerate(threads) if thread.is_alive()]


def _visit(http: httpx.Client, visit: Visit) -> tuple[float, str]:
    """(latency in ms, "") for a good answer, (0, what went wrong) otherwise."""
    began = time.perf_counter()
    try:
        response = http.get(visit.path, headers=visit.headers)
    except httpx.HTTPError as exc:
        return 0.0, f"GET {visit.path}: {type(exc).__name__}"
    latency = (time.perf_counter() - began) * 1000
    if response.status_code >= 400:
        return 0.0, f"GET {visit.path}: HTTP {response.status_code}"
    if _sent_to_sign_in(response):
        # A 302 like any other to HTTP, but the user is no longer browsing: the pages after
        # it would all be sign-in redirects, fast and "good".
        return 0.0, f"GET {visit.path}: signed out"
    return latency, ""


def _sent_to_sign_in(response: httpx.Response) -> bool:
    return response.is_redirect and response.headers["location"].startswith(
        resolve_url(settings.LOGIN_URL)
    )
