"""Production settings, checked in a fresh process with production-like environment."""

import re

from tests.support.paths import BASE_DIR
from tests.support.production import manage


def test_check_deploy_is_clean_with_production_values():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


# What a browser gets from the production settings: one sign-in page over HTTPS. Static
# files are looked up without collectstatic's manifest, which a test checkout lacks.
PRODUCTION_RESPONSE = """
from django.conf import settings
from django.test import Client, override_settings
storages = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=storages):
    response = Client().get("/login/", secure=True, headers={"host": "portal.example.com"})
print(response.status_code)
for name in sorted(response.headers):
    print(f"{name}: {response.headers[name]}")
print(response.cookies.output())
print("session cookie secure:", settings.SESSION_COOKIE_SECURE)
print("session cookie:", settings.SESSION_COOKIE_HTTPONLY, settings.SESSION_COOKIE_SAMESITE)
print("session lasts:", settings.SESSION_COOKIE_AGE)
"""


def test_production_responses_carry_secure_cookies_and_security_headers():
    result = manage("shell", "--no-imports", "-c", PRODUCTION_RESPONSE)
    assert result.returncode == 0, result.stderr
    out = result.stdout

    assert out.startswith("200\n")
    assert "Strict-Transport-Security: max-age=31536000; includeSubDomains; preload" in out
    assert "X-Content-Type-Options: nosniff" in out
    assert "Referrer-Policy: same-origin" in out
    assert "X-Frame-Options: DENY" in out
    assert "Cross-Origin-Opener-Policy: same-origin" in out
    (policy,) = [line for line in out.splitlines() if line.startswith("Content-Security-Policy:")]
    directives = {part.strip() for part in policy.partition(":")[2].split(";")}
    assert {"default-src 'self'", "script-src 'self'", "style-src 'self'"} <= directives
    (csrf_cookie,) = [line for line in out.splitlines() if "csrftoken=" in line]
    assert "Secure" in csrf_cookie and "SameSite=Lax" in csrf_cookie
    assert "session cookie secure: True" in out
    assert "session cookie: True Lax" in out
    assert "session lasts: 28800" in out  # a working day


def test_plain_http_is_redirected_to_https_in_production():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.test import Client; "
        "r = Client().get('/login/', headers={'host': 'portal.example.com'}); "
        "print(r.status_code, r['Location'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "301 https://portal.example.com/login/"


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = manage("check", SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_refuses_to_start_without_field_encryption_key_when_debug_is_off():
    result = manage("check", FIELD_ENCRYPTION_KEY="")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY is not set" in result.stderr


def test_debug_has_development_defaults():
    result = manage("check", DEBUG="true", SECRET_KEY=None, FIELD_ENCRYPTION_KEY=None)
    assert result.returncode == 0, result.stderr


def test_every_environment_variable_is_documented():
    """A variable the settings read is in .env.example and in the README's table."""
    settings_source = (BASE_DIR / "portal" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    example = (BASE_DIR / ".env.example").read_text()
    readme = (BASE_DIR / "README.md").read_text()

    assert {"DATABASE_URL", "SYNC_RUN_DEADLINE_MINUTES"} <= read  # the pattern finds them
    assert [name for name in sorted(read) if not re.search(rf"^#? ?{name}=", example, re.M)] == []
    assert [name for name in sorted(read) if f"| `{name}` |" not in readme] == []


SHOW_DEADLINES = (
    "from django.conf import settings; "
    "print(settings.SYNC_RUN_DEADLINE.total_seconds(), settings.UPSTREAM_REQUEST_DEADLINE)"
)


def test_deadlines_default_and_their_former_names_still_work():
    assert manage("shell", "--no-imports", "-c", SHOW_DEADLINES).stdout.split() == [
        "900.0",
        "60.0",
    ]
    former = manage(
        "shell",
        "--no-imports",
        "-c",
        SHOW_DEADLINES,
        SYNC_ABANDONED_MINUTES="7",
        UPSTREAM_RETRY_TIMEOUT="30",
    )
    assert former.stdout.split() == ["420.0", "30.0"], former.stderr
    both = manage(
        "shell",
        "--no-imports",
        "-c",
        SHOW_DEADLINES,
        SYNC_ABANDONED_MINUTES="7",
        SYNC_RUN_DEADLINE_MINUTES="20",
        UPSTREAM_RETRY_TIMEOUT="30",
        UPSTREAM_REQUEST_DEADLINE="45",
    )
    assert both.stdout.split() == ["1200.0", "45.0"], both.stderr
