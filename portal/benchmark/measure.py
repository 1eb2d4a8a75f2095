"""Measuring: request latencies as p50/p95, SQL queries per request, and resident memory
(RSS) of a process while something runs."""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext


@dataclass(frozen=True)
class Latency:
    p50: float  # milliseconds
    p95: float
    samples: int


def latency(samples: list[float]) -> Latency:
    cuts = statistics.quantiles(samples, n=20, method="inclusive")
    return Latency(p50=statistics.median(samples), p95=cuts[18], samples=len(samples))


def get(client, url: str, headers: dict | None = None):
    response = client.get(url, headers=headers or {})
    if response.status_code != 200:
        raise AssertionError(f"GET {url} answered {response.status_code}, not 200")
    if response.streaming:
        for _ in response.streaming_content:
            pass
    return response


def time_requests(
    client, url: str, *, requests: int, headers: dict | None = None, before_each=None
) -> Latency:
    """Server-side time of `requests` GETs of `url` (after a few to warm caches), in ms;
    `before_each` (untimed) runs before each timed request."""
    for _ in range(3):
        get(client, url, headers)
    samples = []
    for _ in range(requests):
        if before_each is not None:
            before_each()
        started = time.perf_counter()
        get(client, url, headers)
        samples.append((time.perf_counter() - started) * 1000)
    return latency(samples)


def count_queries(client, url: str, headers: dict | None = None) -> int:
    get(client, url, headers)  # warm: sessions, content types and caches are not the page's
    with CaptureQueriesContext(connection) as queries:
        get(client, url, headers)
    return len(queries)


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of process `pid` (this one by default) in MB, from /proc."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc status")


class PeakRss:
    """Samples a process's RSS every 10 ms while the block runs; `growth` is the peak
    above what it held when the block started, in MB."""

    def __init__(self, pid: int | None = None):
        self.pid = pid
        self.start = self.peak = 0.0
        self._stop = threading.Event()

    def __enter__(self):
        self.start = self.peak = rss_mb(self.pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))

    @property
    def growth(self) -> float:
        return self.peak - self.start


class Stopwatch:
    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
