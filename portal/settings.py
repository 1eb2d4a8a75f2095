"""Settings for the number & billing portal.

Every value that differs between a laptop and production comes from the environment
(or a `.env` file beside manage.py) through django-environ; `.env.example` documents each.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
    TIME_ZONE=(str, "UTC"),
    SECURE_SSL_REDIRECT=(bool, True),
    SECURE_HSTS_SECONDS=(int, 31_536_000),
    LOG_LEVEL=(str, "INFO"),
    TRUSTED_PROXY_COUNT=(int, 0),
    LOGIN_FAILURE_LIMIT=(int, 5),
    LOGIN_LOCKOUT_MINUTES=(int, 15),
)
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env("DEBUG")


def _secret(name: str, dev_default: str) -> str:
    """A secret from the environment. A development default exists only with DEBUG on, so
    a production process without its own secrets refuses to start instead of running with
    a published key."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. With DEBUG off the portal needs its own SECRET_KEY and "
        "FIELD_ENCRYPTION_KEY; see .env.example."
    )


SECRET_KEY = _secret("SECRET_KEY", "django-insecure-dev-only-portal-key-0123456789abcdefghijklmn")
FIELD_ENCRYPTION_KEY = _secret("FIELD_ENCRYPTION_KEY", "dev-only-field-encryption-salt")
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

# django-fernet-encrypted-fields derives its Fernet keys from SECRET_KEY (+ fallbacks)
# salted with SALT_KEY; a list of salts lets an old salt be retired without losing data.
SALT_KEY = [FIELD_ENCRYPTION_KEY, *env.list("FIELD_ENCRYPTION_KEY_FALLBACKS", default=[])]

ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "django_tables2",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "portal",
    "numbers",
    "billing",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A NUL (or other control character) in a URL is a 400 before any view queries with it.
    "portal.middleware.RejectControlCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a lockout flagged during login into its page.
    "axes.middleware.AxesMiddleware",
]

# django-axes' backend first: it refuses a locked-out username+IP before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    },
]

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Report aggregates (billing.report_cache), in each process: keyed on the data's state,
    # so no cache server has to be shared for them to stay right.
    "reports": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "reports",
        "OPTIONS": {"MAX_ENTRIES": 500},
    },
}

# Django's form templates, with selects written in Python (fast with hundreds of options).
FORM_RENDERER = "portal.forms.QuickSelectRenderer"

WSGI_APPLICATION = "portal.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run` has several processes on one file (server, task worker, sync). A write
    # transaction takes its lock when it begins, and others wait for it (up to 20 s),
    # instead of failing with "database is locked" when a reader turns writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where `collectstatic` puts the files gunicorn serves (whitenoise) with DEBUG off.
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# E-mail (alerts): EMAIL_URL when it is set, in every mode (smtp://user:pass@host:587 with
# ?ssl / ?tls, or consolemail://); unset, development prints mails to the terminal and
# production uses Django's default, an SMTP server on localhost.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif DEBUG:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Number portal <portal@localhost>")
# Seconds an SMTP connection may take: a mail server that hangs fails the attempt (retried
# later) instead of holding a task worker, or the profile page's test e-mail, for ever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# Waits between the tries of an alert's delivery (e-mail or webhook) that failed: after the
# last, the delivery is marked failed (it stays on the alert history page).
ALERT_RETRY_DELAYS = [
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
]
# Where the portal is reached, for links in e-mails and webhooks (no request to read it from).
PORTAL_URL = env.str("PORTAL_URL", default="http://127.0.0.1:8000").rstrip("/")

DJANGO_TABLES2_TEMPLATE = "table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table table-hover align-middle mb-0"}

# Security: with DEBUG off these satisfy `manage.py check --deploy` without warnings.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT")
    SECURE_HSTS_SECONDS = env("SECURE_HSTS_SECONDS")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Behind a TLS-terminating proxy (the usual gunicorn deployment) trust its header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy (django-csp): every script and stylesheet is a static file, so
# neither needs 'unsafe-inline' or a nonce; htmx runs with allowEval off and its indicator
# styles in portal.css (base.html), Chart.js draws on a canvas and sizes it through the DOM.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Bootstrap's CSS draws its icons as data: SVGs
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Login throttling (django-axes): a username that fails this many times from one address is
# locked out there for the cool-off period; other addresses and users are unaffected.
AXES_FAILURE_LIMIT = env("LOGIN_FAILURE_LIMIT")
AXES_COOLOFF_TIME = timedelta(minutes=env("LOGIN_LOCKOUT_MINUTES"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.security.lockout_response"  # the sign-in page, saying why
AXES_CLIENT_IP_CALLABLE = "portal.security.client_ip_address"
# Proxies in front of the portal that append to X-Forwarded-For (0: none, use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env("TRUSTED_PROXY_COUNT")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs full URLs; portal.providers logs one secret-free line per call instead.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# Dashboard panels, in display order; each is `function(request) -> Panel | None`.
DASHBOARD_PANELS = [
    "alerts.panels.open_alerts_panel",  # only while an alert the user may see is open
    "billing.panels.balance_warnings",  # only while an account needs a top-up
    "numbers.panels.numbers_by_provider",
    "billing.panels.latest_balances",
    "portal.panels.last_sync_per_account",
]

# Panels on a number's detail page that other apps contribute (billing shows its
# transactions there); each is `function(request, phone_number) -> Panel | None`.
NUMBER_DETAIL_PANELS = ["billing.panels.number_transactions"]

# Called with each SyncRun once it has ended, `hook(run)`: the apps above the core learn of a
# finished sync without the core importing them. A hook that fails is logged, never fatal.
SYNC_FINISHED_HOOKS: list[str] = ["alerts.hooks.sync_finished"]

# What a sync of an account does, in order (numbers first: transactions link to them).
# Each is `step(account, adapter, *, now, progress) -> portal.services.sync.SyncCounts`.
SYNC_STEPS = [
    ("numbers", "numbers.services.sync.sync_owned_numbers"),
    # Purchases the upstream left in doubt are settled once the owned numbers are read.
    ("numbers", "numbers.services.reconcile.reconcile_unknown_orders"),
    ("transactions", "billing.services.transactions.sync_transactions"),
    ("balance", "billing.services.balances.snapshot_balance"),
    ("calls", "numbers.services.calls.sync_calls"),
    ("plans", "billing.services.plans.sync_service_plans"),
    # Last, so it reads the plans just synced; a "numbers" step, so a numbers-only sync
    # prices its new numbers from the plans stored (numbers.fees: listing, quote, plan).
    ("numbers", "billing.services.plan_fees.fees_from_service_plans"),
]

# Call records (numbers.services.calls): raw calls are kept this many days (the daily and
# monthly rollups forever); a first sync reads the provider's history this far back at
# most, a window of CALL_SYNC_WINDOW_DAYS at a time; calls whose price is read one by one
# (TryVox) are priced this many at once.
CALL_RETENTION_DAYS = env.int("CALL_RETENTION_DAYS", default=400)
CALL_SYNC_WINDOW_DAYS = env.int("CALL_SYNC_WINDOW_DAYS", default=7)
CALL_PRICING_WORKERS = env.int("CALL_PRICING_WORKERS", default=4)
if min(CALL_RETENTION_DAYS, CALL_SYNC_WINDOW_DAYS, CALL_PRICING_WORKERS) < 1:
    raise ImproperlyConfigured(
        "CALL_RETENTION_DAYS, CALL_SYNC_WINDOW_DAYS and CALL_PRICING_WORKERS must be at least 1."
    )

# Every sync run ends by this deadline: past it, the run stops with "took longer than N"
# (failed, or partial keeping what its finished steps wrote) and its worker moves on. A run
# still open this long after it started (plus one request deadline, for its last call to
# give up) is ended by whoever finds it next (a worker, the scheduler, `manage.py sync`),
# freeing its account; a run whose process is gone on this host is ended at once.
# SYNC_ABANDONED_MINUTES is the former name, still read when the new one is not set.
_run_deadline_minutes = env.int(
    "SYNC_RUN_DEADLINE_MINUTES", default=env.int("SYNC_ABANDONED_MINUTES", default=15)
)
if _run_deadline_minutes < 1:  # 0 would end every sync at once
    raise ImproperlyConfigured("SYNC_RUN_DEADLINE_MINUTES must be at least 1.")
SYNC_RUN_DEADLINE = timedelta(minutes=_run_deadline_minutes)

# Searching numbers to buy asks every account at once: at most this many at a time, each
# given this many seconds before the page shows it as timed out.
NUMBER_SEARCH_WORKERS = 4
NUMBER_SEARCH_TIMEOUT = env.float("NUMBER_SEARCH_TIMEOUT", default=10.0)

# What one upstream may cost the portal (README "Reliability and security").
# One upstream call, its retries included, ends by this many seconds, also while its body
# is still arriving. UPSTREAM_RETRY_TIMEOUT is the former name (the retries' total).
UPSTREAM_REQUEST_DEADLINE = env.float(
    "UPSTREAM_REQUEST_DEADLINE", default=env.float("UPSTREAM_RETRY_TIMEOUT", default=60.0)
)
# Retries of upstream reads on 429/5xx (stamina), within the request's deadline.
UPSTREAM_RETRY = {
    "attempts": env.int("UPSTREAM_RETRY_ATTEMPTS", default=6),
    "wait_initial": 0.5,
    "wait_max": 10.0,
    "wait_jitter": 0.5,
}
_MB = 1024 * 1024
# An answer read whole larger than this, counted after decompression, is refused.
UPSTREAM_MAX_BODY_BYTES = env.int("UPSTREAM_MAX_BODY_MB", default=20) * _MB
# Per kind of list: the most rows one listing may bring (above the largest real account;
# past it the listing fails as endless, keeping nothing that would release numbers), and the
# most bytes of a list the provider sends whole in one streamed answer (Ravan's numbers,
# Audian's Kazoo ledger and plans), which is never held in memory.
UPSTREAM_LIST_LIMITS = {
    "numbers": {
        "rows": env.int("UPSTREAM_MAX_NUMBERS", default=2_000_000),
        "streamed_bytes": 2048 * _MB,
    },
    "inventory": {
        "rows": env.int("UPSTREAM_MAX_INVENTORY", default=200_000),
        "streamed_bytes": 200 * _MB,
    },
    "transactions": {
        "rows": env.int("UPSTREAM_MAX_TRANSACTIONS", default=50_000_000),
        "streamed_bytes": 20 * 1024 * _MB,
    },
    "plans": {"rows": env.int("UPSTREAM_MAX_PLANS", default=10_000), "streamed_bytes": 20 * _MB},
    "calls": {
        "rows": env.int("UPSTREAM_MAX_CALLS", default=50_000_000),
        "streamed_bytes": 20 * 1024 * _MB,
    },
}
# Provider accounts may point at loopback, private, link-local or reserved addresses, and
# use plain http, only with this on: the sandbox of `make run` (DEBUG) needs it, production
# does not (portal.providers.network checks each base URL when saved and at each connection).
ALLOW_PRIVATE_UPSTREAMS = env.bool("ALLOW_PRIVATE_UPSTREAMS", default=DEBUG)
