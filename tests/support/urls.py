"""The portal's URLs by name with their arguments filled from real objects, for the tests
that go through every URL (tests/unit/portal/test_access.py) or every form
(tests/unit/portal/test_bad_input.py)."""

from django.urls import reverse

# The URLs that take an argument: its name, and which object's pk it is.
ARGUMENTS = {
    "numbers:detail": ("pk", "number"),
    "numbers:label": ("pk", "number"),
    "numbers:release": ("pk", "number"),
    "numbers:order_check": ("pk", "order"),
    "start_sync_account": ("account_id", "account"),
    "billing:balance_threshold": ("account_id", "account"),
    "alerts:channel_edit": ("pk", "webhook"),
    "alerts:channel_rotate": ("pk", "webhook"),
    "alerts:channel_remove": ("pk", "webhook"),
    "alerts:channel_test": ("pk", "webhook"),
    "billing:balance_budget": ("account_id", "account"),
    "alerts:detail": ("pk", "alert"),
    "alerts:acknowledge": ("pk", "alert"),
    "alerts:snooze": ("pk", "alert"),
    "alerts:rule_edit": ("pk", "rule"),
}


def url_of(name: str, **objects) -> str:
    """The URL named `name`; its argument, if it takes one, is the pk of the object it is
    about among `objects` (number=, order=, account=, webhook=, alert=, rule=)."""
    if name not in ARGUMENTS:
        return reverse(name)
    argument, about = ARGUMENTS[name]
    return reverse(name, kwargs={argument: objects[about].pk})
