import pytest

from tests.support.smtp import smtp_server, use_smtp


@pytest.fixture
def smtp(settings):
    """A real SMTP server on loopback that Django's mail sends to."""
    with smtp_server() as inbox:
        use_smtp(settings, inbox)
        yield inbox
