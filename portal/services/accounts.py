"""Changes to provider accounts made by staff (the admin), each recorded in the audit log.
The secret itself never reaches the log: only whether it was set, changed or cleared."""

from __future__ import annotations

from django.db import transaction

from portal.models import AuditEvent, ProviderAccount
from portal.services.audit import record_audit_event

# What the audit log keeps of an account's own fields (the provider as its name).
AUDITED_FIELDS = (
    "provider",
    "name",
    "upstream_account_id",
    "base_url",
    "currency",
    "low_balance_threshold",
    "monthly_budget",
    "is_active",
)


def audit_text(value):
    return None if value is None else str(value)


def record_account_change(
    stored: ProviderAccount, account: ProviderAccount, field_names, *, actor
) -> bool:
    """Audit what `account` changed of `field_names` since `stored` (the row before the
    save); nothing when no value differs. Returns whether an event was recorded."""
    before = {name: audit_text(getattr(stored, name)) for name in field_names}
    after = {name: audit_text(getattr(account, name)) for name in field_names}
    changed = [name for name in field_names if before[name] != after[name]]
    if not changed:
        return False
    record_audit_event(
        actor=actor,
        action=AuditEvent.Action.ACCOUNT_CHANGE,
        obj=account,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
    )
    return True


def record_field_change(account: ProviderAccount, field: str, before, after, *, actor) -> None:
    """Audit one of the account's fields going from `before` to `after`, as every account
    change is recorded: the values as text, None when unset."""
    record_audit_event(
        actor=actor,
        action=AuditEvent.Action.ACCOUNT_CHANGE,
        obj=account,
        before={field: audit_text(before)},
        after={field: audit_text(after)},
    )


def record_credential_change(account: ProviderAccount, *, had_secret: bool, change, actor):
    """Audit a secret `change` ("set", "changed", "cleared"; None: kept, nothing recorded)."""
    if change is None:
        return
    record_audit_event(
        actor=actor,
        action=AuditEvent.Action.CREDENTIAL_CHANGE,
        obj=account,
        before={"api_secret": "set" if had_secret else "not set"},
        after={"api_secret": change},
    )


def delete_account(account: ProviderAccount, *, actor, delete) -> None:
    """Delete the account with `delete()` (the admin's own, which checks what protects it),
    audited first, while the row still has its id; the secret only as a marker."""
    before = {name: audit_text(getattr(account, name)) for name in AUDITED_FIELDS}
    before["api_secret"] = "set" if account.has_secret else "not set"
    with transaction.atomic():
        record_audit_event(
            actor=actor,
            action=AuditEvent.Action.ACCOUNT_CHANGE,
            obj=account,
            before=before,
            after={"deleted": True},
        )
        delete()


def deactivate_accounts(accounts, *, actor) -> list[ProviderAccount]:
    """Deactivate those of `accounts` still active, each audited; the ones changed."""
    with transaction.atomic():
        changed = list(accounts.filter(is_active=True).order_by("provider__name", "name"))
        for account in changed:
            account.is_active = False
            account.save(update_fields=["is_active", "updated_at"])
            record_field_change(account, "is_active", True, False, actor=actor)
    return changed
