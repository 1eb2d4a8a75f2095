"""Test settings: the portal's own settings with development keys and a fast hasher.

The test runner forces DEBUG off while tests run, so error pages and permission checks
behave as in production; `tests/unit/test_settings.py` checks the production settings
themselves in a subprocess.
"""

import os
import tempfile

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
