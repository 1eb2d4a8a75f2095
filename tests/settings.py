"""Test settings: the portal's own settings with development keys and a fast hasher.

The test runner forces DEBUG off while tests run, so error pages and permission checks
behave as in production; `tests/unit/portal/test_settings.py` checks the production settings
themselves in a subprocess.
"""

import os
import tempfile
from datetime import timedelta

os.environ.setdefault("DEBUG", "true")

from portal.settings import *  # noqa: F403

# A test database in a file rather than in memory: threads (live server, concurrent-sync
# tests) then get real separate connections that wait on locks instead of failing at once.
# One file per test process, so parallel workers and simultaneous runs never share one.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"portal-test-{os.getpid()}.sqlite3")
    }

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# Adapters fail fast in tests; the sync tests that exercise retries turn them on.
UPSTREAM_RETRY = {**UPSTREAM_RETRY, "attempts": 1}  # noqa: F405

# Small limits, so a test of a hostile upstream ends in seconds, yet generous enough for the
# sandbox worlds of the other tests (10,000 numbers in Ravan's one streamed list, which the
# sandbox builds whole before answering) on a loaded machine. The hostile-upstream tests
# tighten the deadlines further (2 s a request, 10 s a run: their `tight_deadlines`).
UPSTREAM_REQUEST_DEADLINE = 10.0
SYNC_RUN_DEADLINE = timedelta(seconds=60)
UPSTREAM_MAX_BODY_BYTES = 1024 * 1024
UPSTREAM_LIST_LIMITS = {
    "numbers": {"rows": 20_000, "streamed_bytes": 8 * 1024 * 1024},
    "inventory": {"rows": 2_000, "streamed_bytes": 1024 * 1024},
    "transactions": {"rows": 20_000, "streamed_bytes": 8 * 1024 * 1024},
    "plans": {"rows": 100, "streamed_bytes": 1024 * 1024},
    "calls": {"rows": 20_000, "streamed_bytes": 8 * 1024 * 1024},
}
# The sandboxes and hostile upstreams of the tests listen on loopback, over plain HTTP.
ALLOW_PRIVATE_UPSTREAMS = True
