"""What a user changes on their profile page: their e-mail address, which rules they
receive; and the test e-mail that shows alerts reach them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email

from alerts.channels.email import deliver
from alerts.messages import test_email_message
from alerts.models import Rule
from alerts.selectors.subscriptions import subscriptions_of
from alerts.services.subscriptions import set_subscription
from portal.models import AuditEvent
from portal.services.audit import record_audit_event

EMAIL_MAX_LENGTH = get_user_model()._meta.get_field("email").max_length


def change_email(*, user, email: str, actor) -> bool:
    """Give the user `email` (alerts go there from now on); returns whether it changed."""
    _check_self(user, actor)
    email = (email or "").strip()
    if not email:
        raise ValidationError("Enter the e-mail address alerts should go to.")
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(f"An e-mail address has at most {EMAIL_MAX_LENGTH} characters.")
    validate_email(email)
    before = user.email
    if before == email:
        return False
    user.email = email
    user.save(update_fields=["email"])
    record_audit_event(
        actor=actor,
        action=AuditEvent.Action.ALERT_SETTINGS,
        obj=user,
        before={"email": before},
        after={"email": email},
    )
    return True


def choose_subscriptions(*, user, chosen: dict[Rule, bool], actor) -> int:
    """Record the user's choice for each rule they may receive where it differs from what
    applies now (a rule left as its role's default stays so: a later change of role still
    counts). Returns how many choices changed."""
    _check_self(user, actor)
    current = subscriptions_of(user)
    changed = 0
    for rule, subscribed in chosen.items():
        if rule not in current:
            raise PermissionDenied(f"You may not receive the rule “{rule}”.")
        if current[rule] != subscribed:
            set_subscription(user=user, rule=rule, subscribed=subscribed, actor=actor)
            changed += 1
    return changed


def send_test_email(*, user, actor) -> str:
    """Send the user a test e-mail now, at their address; returns the address. Raises
    SendFailed (alerts.channels.base) when the mail server did not take it."""
    _check_self(user, actor)
    if not user.email:
        raise ValidationError("Add your e-mail address first: the test e-mail goes there.")
    deliver(test_email_message(user), user.email)
    return user.email


def _check_self(user, actor) -> None:
    # Each user changes their own profile here; admins change others' in the admin.
    if actor is None or actor.pk != user.pk:
        raise PermissionDenied("You may change only your own profile.")
