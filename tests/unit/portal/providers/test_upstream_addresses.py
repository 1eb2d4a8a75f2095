"""A provider account's base URL may not lead inside the network (in production).

Names resolve through a fake resolver (`portal.providers.network.resolve`); no test opens a
connection to anything but loopback, and the refusals are checked to happen before any
connection is attempted.
"""

import httpcore
import pytest

from portal.admin import ProviderAccountForm
from portal.providers import network
from portal.providers.base import AccountConfig
from portal.providers.errors import AddressNotAllowed
from portal.providers.tryvox.adapter import TryVoxAdapter
from tests.support.factories import ProviderFactory
from tests.support.hostile import ACCOUNT_IDS, SANE_NUMBERS, HostileUpstream
from tests.support.production import manage

PUBLIC = "93.184.216.34"  # never connected to: the tests stop before or use loopback


class Names(dict):
    """The fake resolver's answers by name (`names["api.example.com"] = ["10.0.0.5"]`),
    and the names it was asked for."""

    def __init__(self):
        super().__init__()
        self.asked: list[str] = []

    def resolve(self, host, port):
        self.asked.append(host)
        if host not in self:
            raise OSError(f"{host}: name not known")
        return self[host]


@pytest.fixture
def names(monkeypatch):
    names = Names()
    monkeypatch.setattr(network, "resolve", names.resolve)
    return names


@pytest.fixture
def production(settings):
    settings.ALLOW_PRIVATE_UPSTREAMS = False


@pytest.fixture
def no_connections(monkeypatch):
    """Fails the test if any connection is attempted."""

    def connect_tcp(self, host, port, *args, **kwargs):
        raise AssertionError(f"a connection to {host}:{port} was attempted")

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect_tcp)


def account_form(base_url):
    provider = ProviderFactory(slug="tryvox", name="TryVox")
    return ProviderAccountForm(
        data={
            "provider": provider.pk,
            "name": "Main",
            "upstream_account_id": "acct_1",
            "base_url": base_url,
            "currency": "USD",
            "is_active": "on",
            "new_api_secret": "tvx_sk_secret",
        }
    )


@pytest.mark.parametrize(
    ("base_url", "resolves_to"),
    [
        ("https://internal.example.com/v1", "10.1.2.3"),  # private
        ("https://db.example.com/v1", "192.168.0.10"),
        ("https://localhost.example.com/v1", "127.0.0.1"),  # loopback
        ("https://metadata.example.com/latest", "169.254.169.254"),  # link-local
        ("https://cgnat.example.com/v1", "100.64.0.1"),  # shared address space
        ("https://v6.example.com/v1", "fd00::1"),  # unique local
        ("https://mapped.example.com/v1", "::ffff:10.0.0.1"),  # IPv4-mapped private
        ("https://127.0.0.1:8443/v1", None),  # a literal address
        ("https://[::1]/v1", None),
        ("https://0.0.0.0/v1", None),
    ],
)
def test_the_account_form_refuses_a_base_url_inside_the_network(
    db, production, names, no_connections, base_url, resolves_to
):
    host = base_url.split("/")[2].split(":")[0]
    if resolves_to:
        names[host] = [resolves_to]
    form = account_form(base_url)
    assert not form.is_valid()
    assert "inside the network" in form.errors["base_url"][0]


def test_a_name_with_any_address_inside_is_refused(db, production, names):
    names["split.example.com"] = [PUBLIC, "10.0.0.9"]
    form = account_form("https://split.example.com/v1")
    assert not form.is_valid()
    assert "10.0.0.9" in form.errors["base_url"][0]


def test_the_account_form_requires_https_in_production(db, production, names):
    names["api.example.com"] = [PUBLIC]
    form = account_form("http://api.example.com/v1")
    assert not form.is_valid()
    assert "https only" in form.errors["base_url"][0]


def test_the_account_form_accepts_a_public_https_base_url(db, production, names):
    names["api.example.com"] = [PUBLIC]
    form = account_form("https://api.example.com/v1")
    assert form.is_valid(), form.errors


def test_private_upstreams_are_allowed_with_the_setting(db, settings, names):
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    form = account_form("http://127.0.0.1:8100/tryvox/v1")
    assert form.is_valid(), form.errors


def adapter(base_url):
    return TryVoxAdapter(AccountConfig(base_url, ACCOUNT_IDS["tryvox"], "key"))


def test_a_name_that_resolves_inside_later_is_refused_at_connection(
    production, names, no_connections
):
    """Saved while the name led outside; by the time of the call it leads inside."""
    names["api.provider.example"] = [PUBLIC]
    assert network.base_url_problem("https://api.provider.example/v1") == ""
    names["api.provider.example"] = ["10.0.0.7"]
    with (
        adapter("https://api.provider.example/v1") as tryvox,
        pytest.raises(AddressNotAllowed, match="inside the network") as refused,
    ):
        list(tryvox.iter_owned_numbers())
    assert str(refused.value).startswith("TryVox: ")


def test_plain_http_is_refused_at_connection_in_production(production, names, no_connections):
    names["api.provider.example"] = [PUBLIC]
    with (
        adapter("http://api.provider.example/v1") as tryvox,
        pytest.raises(AddressNotAllowed, match="https only"),
    ):
        list(tryvox.iter_owned_numbers())


def test_the_connection_goes_to_the_address_checked_keeping_the_host(settings, names):
    """The adapter connects to the address the resolver gave (loopback here, allowed by
    the setting), while the request still names the host."""
    settings.ALLOW_PRIVATE_UPSTREAMS = True
    with HostileUpstream() as upstream:
        port = upstream.url.rsplit(":", 1)[1]
        names["upstream.test"] = ["127.0.0.1"]
        with adapter(f"http://upstream.test:{port}/tryvox") as tryvox:
            listed = [record.number for record in tryvox.iter_owned_numbers()]
    assert listed == list(SANE_NUMBERS)
    assert "upstream.test" in names.asked
    assert {host for _, _, host in upstream.requests} == {f"upstream.test:{port}"}


def test_private_upstreams_are_refused_by_default_in_production_and_allowed_in_debug():
    show = "from django.conf import settings; print(settings.ALLOW_PRIVATE_UPSTREAMS)"
    production = manage("shell", "--no-imports", "-c", show)
    assert production.returncode == 0, production.stderr
    assert production.stdout.strip() == "False"
    debug = manage("shell", "--no-imports", "-c", show, DEBUG="true")
    assert debug.stdout.strip() == "True"
