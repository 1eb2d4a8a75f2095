"""Login throttling, session cookies, security headers, the Content Security Policy header,
and CSRF on every URL that accepts a POST (htmx requests included)."""

import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from portal.security import client_ip_address
from tests.support.factories import UserFactory

PASSWORD = "correct-horse-battery"  # UserFactory's
TEMPLATES = Path(settings.BASE_DIR) / "templates"


# --- login throttling (django-axes) ----------------------------------------------------------


def sign_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def fail(client, username, times):
    for _ in range(times):
        response = sign_in(client, username, "wrong-password")
    return response


@pytest.fixture
def sam(db):
    return UserFactory(username="sam")


def test_wrong_passwords_below_the_limit_only_say_so(client, sam):
    response = fail(client, "sam", settings.AXES_FAILURE_LIMIT - 1)

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text
    assert sign_in(client, "sam", PASSWORD).status_code == 302


def test_the_limit_of_failures_locks_the_username_out_from_that_address(client, sam):
    response = fail(client, "sam", settings.AXES_FAILURE_LIMIT)

    assert response.status_code == 429
    # Even the right password is refused now, and no session is started.
    response = sign_in(client, "sam", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302


def test_the_lockout_page_is_the_styled_sign_in_page_with_a_clear_message(client, sam):
    response = fail(client, "sam", settings.AXES_FAILURE_LIMIT)

    html = response.text
    assert response["Content-Type"].startswith("text/html")
    assert 'data-testid="locked-out"' in html
    assert "Sign-in locked" in html
    assert f"({settings.AXES_FAILURE_LIMIT} in a row)" in html
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"Try again in {minutes} minutes" in html
    assert "/static/vendor/bootstrap/bootstrap.min.css" in html
    assert 'name="password"' not in html


def test_a_lockout_holds_only_for_that_username_and_address(sam):
    # A new browser (client) per sign-in: a signed-in one is sent on without signing in.
    fail(Client(REMOTE_ADDR="198.51.100.7"), "sam", settings.AXES_FAILURE_LIMIT)
    UserFactory(username="kim")

    assert sign_in(Client(REMOTE_ADDR="198.51.100.7"), "kim", PASSWORD).status_code == 302
    assert sign_in(Client(REMOTE_ADDR="203.0.113.9"), "sam", PASSWORD).status_code == 302
    assert sign_in(Client(REMOTE_ADDR="198.51.100.7"), "sam", PASSWORD).status_code == 429


def test_the_lockout_ends_after_the_cool_off(client, sam):
    fail(client, "sam", settings.AXES_FAILURE_LIMIT)

    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time
        - settings.AXES_COOLOFF_TIME
        - timedelta(seconds=1)
    )

    assert sign_in(client, "sam", PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_count(client, sam):
    fail(client, "sam", settings.AXES_FAILURE_LIMIT - 1)
    assert sign_in(client, "sam", PASSWORD).status_code == 302
    client.post(reverse("logout"))

    response = fail(client, "sam", settings.AXES_FAILURE_LIMIT - 1)

    assert response.status_code == 200


def test_the_admin_login_is_throttled_too(client, db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    url = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(url, {"username": "root", "password": "wrong-password"})

    assert response.status_code == 429
    assert client.post(url, {"username": "root", "password": PASSWORD}).status_code == 429


def test_force_login_is_not_throttled(client, sam):
    fail(client, "sam", settings.AXES_FAILURE_LIMIT)

    client.force_login(sam)

    assert client.get(reverse("dashboard")).status_code == 200


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no proxy: a client's header is ignored
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # what the client sent itself is ignored
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.2"),  # shorter than the proxy chain: not trusted
        (1, "", "10.0.0.2"),
    ],
)
def test_the_client_address_behind_trusted_proxies(proxies, forwarded_for, expected):
    request = RequestFactory().get(
        "/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for
    )

    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert client_ip_address(request) == expected


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_lockouts_are_per_client_not_per_proxy(sam):
    def via_proxy(client_address):
        return Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=client_address)

    fail(via_proxy("198.51.100.7"), "sam", settings.AXES_FAILURE_LIMIT)

    assert sign_in(via_proxy("203.0.113.9"), "sam", PASSWORD).status_code == 302
    assert sign_in(via_proxy("198.51.100.7"), "sam", PASSWORD).status_code == 429


# --- session cookie and security headers -----------------------------------------------------


def test_the_session_cookie_is_http_only_same_site_and_expires(client, sam):
    sign_in(client, "sam", PASSWORD)

    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE


def test_security_headers_are_on_every_response(client, sam):
    client.force_login(sam)

    for url in (reverse("login"), reverse("dashboard"), reverse("admin:index")):
        response = client.get(url)
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["Referrer-Policy"] == "same-origin", url
        assert response["X-Frame-Options"] == "DENY", url
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", url
        assert "Content-Security-Policy" in response, url


def content_security_policy(response) -> dict[str, list[str]]:
    directives = (part.strip().split() for part in response["Content-Security-Policy"].split(";"))
    return {name: values for name, *values in directives}


def test_the_content_security_policy_allows_only_the_portals_own_files(client, db):
    policy = content_security_policy(client.get(reverse("login")))

    assert policy == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


class InlineCode(HTMLParser):
    """Inline scripts, inline styles and event-handler attributes: what the policy blocks."""

    def __init__(self):
        super().__init__()
        self.found = []
        self._script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self._script = ""

    def handle_data(self, data):
        if self._script is not None:
            self._script += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if self._script.strip():
                self.found.append(f"inline <script>: {self._script.strip()[:60]}")
            self._script = None


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_inline_code_finder_finds_what_the_policy_blocks():
    html = (
        '<p style="color: red">x</p><a onclick="go()">y</a><style>p{}</style>'
        "<script>alert(1)</script>"
        '<script src="/static/a.js"></script><script type="application/json">{"a": 1}</script>'
    )

    assert len(inline_code(html)) == 4


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: str(path.relative_to(TEMPLATES))
)
def test_templates_have_no_inline_scripts_styles_or_handlers(template):
    # Template tags are blanked first, so `{% if %}` inside a tag does not confuse the parser.
    text = re.sub(r"{%.*?%}|{{.*?}}", "", template.read_text(), flags=re.DOTALL)

    assert inline_code(text) == []


# --- CSRF on every URL that takes a POST -----------------------------------------------------

SAMPLE_ARGUMENTS = {"app_label": "portal"}  # the admin's app pages; any other argument: 1


def _fill(pattern: str) -> str:
    def sample(match):
        return SAMPLE_ARGUMENTS.get(match.group("name"), "1")

    route = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", sample, pattern)  # re_path() groups
    route = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", sample, route)  # path() converters
    return route.replace("^", "").replace("$", "").replace("\\", "")


def every_url(patterns=None, prefix="/"):
    """A path for every URL pattern of the project, Django admin's included."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + _fill(str(entry.pattern))
        if isinstance(entry, URLResolver):
            yield from every_url(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def test_every_url_covers_the_portal_and_the_admin():
    paths = set(every_url())

    assert {
        "/logout/",
        "/login/",
        "/sync/start/",
        "/numbers/bulk/",
        "/numbers/1/label/",
        "/numbers/buy/confirm/",
        "/billing/balances/1/threshold/",
        "/admin/portal/provideraccount/1/change/",
        "/admin/portal/",
        "/admin/login/",
    } <= paths


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_every_post_without_a_csrf_token_is_refused(db, admin_user, htmx):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    headers = {"HX-Request": "true"} if htmx else {}

    accepted = {}
    for path in every_url():
        response = client.post(path, {"anything": "1"}, headers=headers)
        if response.status_code != 403 or "This form has expired" not in response.text:
            accepted[path] = response.status_code

    assert accepted == {}


def test_a_view_cannot_opt_out_of_csrf():
    def callbacks(patterns):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from callbacks(entry.url_patterns)
            else:
                yield entry.callback

    exempt = [
        getattr(view, "__qualname__", repr(view))
        for view in callbacks(get_resolver().url_patterns)
        if getattr(view, "csrf_exempt", False)
    ]
    assert exempt == []
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE


def test_htmx_requests_carry_the_token_the_page_gives_them(db, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    page = client.get(reverse("dashboard")).text
    hx_headers = re.search(r"<body[^>]* hx-headers='([^']+)'", page).group(1)
    token = json.loads(hx_headers)["X-CSRFToken"]

    response = client.post(reverse("logout"), headers={"HX-Request": "true", "X-CSRFToken": token})

    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302  # signed out


def test_the_csrf_failure_page_is_styled_and_says_what_to_do(client, db):
    response = Client(enforce_csrf_checks=True).post(reverse("login"), {"username": "x"})

    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert "reload the page" in response.text
    assert "/static/vendor/bootstrap/bootstrap.min.css" in response.text
