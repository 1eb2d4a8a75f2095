"""`manage.py` in a fresh process with production settings and a production-like
environment (`manage`), for the tests of what production does."""

import os
import subprocess
import sys

from tests.support.paths import BASE_DIR

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-0123456789abcdef",
    "FIELD_ENCRYPTION_KEY": "a-production-field-encryption-salt",
    "ALLOWED_HOSTS": "portal.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
    "DATABASE_URL": "sqlite:////tmp/unused.sqlite3",
}


def manage(*args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update({k: v for k, v in {**PRODUCTION_ENV, **env_overrides}.items() if v is not None})
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
