"""Fixtures several unit test modules share: `world` (the four sandbox providers on
loopback and the portal's accounts pointing at them) and `market` (the same, with stock to
buy). A module that defines its own fixture of the same name uses its own."""

from tests.unit.test_buying import market  # noqa: F401 - registered as a shared fixture
from tests.unit.test_sync import world  # noqa: F401 - registered as a shared fixture
