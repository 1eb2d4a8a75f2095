from django.contrib.contenttypes.models import ContentType

from portal.models import AuditEvent


def record_audit_event(*, actor, action, obj=None, before=None, after=None) -> AuditEvent:
    """Append one audit event. `before`/`after` are JSON-able dicts of the fields that
    changed; callers pass markers such as "changed" for secrets, never their values."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        before=before,
        after=after,
    )
