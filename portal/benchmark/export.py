"""The transactions CSV export, downloaded over HTTP from gunicorn on loopback, with the
serving worker's memory watched while it streams."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.conf import settings

from portal.benchmark.measure import PeakRss, Stopwatch
from portal.benchmark.server import gunicorn, production_env


@dataclass
class ExportFigures:
    rows: int = 0
    megabytes: float = 0.0
    seconds: float = 0.0
    rss_growth_mb: float = 0.0


def run_export_benchmark(session_cookie: str) -> ExportFigures:
    """Download every transaction as CSV; the figures count the rows that arrived."""
    figures = ExportFigures()
    cookies = {settings.SESSION_COOKIE_NAME: session_cookie}
    with gunicorn(production_env()) as (origin, worker):
        with httpx.Client(base_url=origin, cookies=cookies, timeout=900) as client:
            # A day's export first, so the code is loaded before memory is watched.
            warm = client.get("/billing/transactions/export.csv?date_from=2026-11-30")
            warm.raise_for_status()
            with (
                PeakRss(worker) as memory,
                Stopwatch() as clock,
                client.stream("GET", "/billing/transactions/export.csv") as response,
            ):
                response.raise_for_status()
                size = lines = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    lines += chunk.count(b"\n")
        figures.seconds, figures.rss_growth_mb = clock.seconds, memory.growth
    figures.rows = lines - 1  # the header
    figures.megabytes = size / 1_048_576
    return figures
