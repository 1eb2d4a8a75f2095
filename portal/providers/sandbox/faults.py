"""Faults the sandbox injects, for the whole server and per request.

Server-wide: a share of requests answered 429 (with Retry-After), 500 or 503, chosen by a
seeded generator, and added latency. Per request, tests send headers:

- `X-Sandbox-Fault: 429 | 500 | 503 | drop-after-apply | malformed | short-page | delay=SECONDS
  | delay-after-apply=SECONDS` (comma-separated to combine), forcing that fault on this
  request (`delay-after-apply` answers late, after applying: a client timing out first
  cannot know whether its write happened);
- `X-Sandbox-Fault-Rate: 0.2`, a random fault share for this request.

Endpoints not offered: `FaultConfig.not_offered` maps a path pattern to 404, 405 or 501, and
every request whose path matches is answered so, in the provider's own error shape, as by
an upstream account that lacks the endpoint (an unpublished Kazoo document, an [INFERRED]
balance). Tests change it while the server runs, to make the endpoint come back.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

RANDOM_STATUSES = (429, 500, 503)
RETRY_AFTER_SECONDS = "1"
# What an upstream answers for an endpoint it does not have: no such path, not that
# method, not implemented.
NOT_OFFERED_STATUSES = (404, 405, 501)


@dataclass
class FaultPlan:
    """What to do to one request."""

    status: int | None = None  # answer this status instead of handling the request
    drop_after_apply: bool = False
    malformed: bool = False
    short_page: bool = False
    delay: float = 0.0
    delay_after_apply: float = 0.0


@dataclass
class FaultConfig:
    rate: float = 0.0
    latency: float = 0.0  # seconds added to every request
    seed: int = 1
    retry_after: str = RETRY_AFTER_SECONDS  # what injected 429s ask clients to wait
    # Path pattern (searched in the path with its provider prefix, such as
    # "/tryvox/v1/account/acc_1/balance") → the status that endpoint answers.
    not_offered: dict[str, int] = field(default_factory=dict)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self):
        if not 0 <= self.rate <= 1:
            raise ValueError("fault rate must be between 0 and 1")
        self._rng = random.Random(self.seed)

    def plan(self, headers: dict[str, str]) -> FaultPlan:
        plan = FaultPlan(delay=self.latency)
        for part in filter(
            None, (p.strip() for p in headers.get("x-sandbox-fault", "").split(","))
        ):
            if part.isdigit():
                plan.status = int(part)
            elif part.startswith("delay="):
                plan.delay += _seconds(part.removeprefix("delay="))
            elif part.startswith("delay-after-apply="):
                plan.delay_after_apply += _seconds(part.removeprefix("delay-after-apply="))
            elif part in ("drop-after-apply", "malformed", "short-page"):
                setattr(plan, part.replace("-", "_"), True)
            else:
                raise ValueError(f"unknown sandbox fault {part!r}")
        rate = float(headers.get("x-sandbox-fault-rate", self.rate))
        if plan.status is None and rate:
            with self._lock:
                if self._rng.random() < rate:
                    plan.status = self._rng.choice(RANDOM_STATUSES)
        return plan

    def not_offered_status(self, path: str) -> int | None:
        """The status an endpoint not offered answers at `path`; None for one offered."""
        for pattern, status in self.not_offered.items():
            if status not in NOT_OFFERED_STATUSES:
                raise ValueError(f"an endpoint not offered answers 404, 405 or 501, not {status}")
            if re.search(pattern, path):
                return status
        return None


def _seconds(value: str) -> float:
    return float(value.removesuffix("s"))
