"""The sandbox's built-in accounts: one per provider. `manage.py demo` points the demo
provider accounts at them, with these ids and secrets, so the portal works end to end on a
fresh machine without real credentials."""

from portal.providers.sandbox.state import SandboxAccount

DEMO_ACCOUNTS = (
    SandboxAccount(
        provider="audian",
        account_id="7c1e4b9a2f6d48e3b05a91c3d2e8f407",
        secret="demo-audian-key",
        currency="USD",
        balance="500",
        name="Audian sandbox",
    ),
    SandboxAccount(
        provider="vobiz",
        account_id="MA_K7Q2D9XR",
        secret="demo-vobiz-key",
        currency="INR",
        balance="25000",
        allowed_countries=["IN"],
        name="Vobiz India",
    ),
    SandboxAccount(
        provider="ravan",
        account_id="019a3f5e-8b2c-7d41-9e6f-2a8c4b1d7e90",
        secret="demo-ravan-key",
        currency="USD",
        balance="40",
        name="Ravan voice agents",
    ),
    SandboxAccount(
        provider="tryvox",
        account_id="acct_5f2k9x3m7q",
        secret="demo-tryvox-key",
        currency="USD",
        balance="150",
        name="TryVox global",
    ),
)
