"""Database checks the models share."""

from django.db import models
from django.db.models import Q

from portal.providers.phone import E164_REGEX


def number_is_e164(model_name: str, field: str = "number", allow_blank: bool = False):
    """A database check that `field` holds E.164, so no code path can store another form."""
    condition = Q(**{f"{field}__regex": E164_REGEX})
    if allow_blank:
        condition |= Q(**{field: ""})
    return models.CheckConstraint(
        condition=condition,
        name=f"{model_name}_{field}_e164",
        violation_error_message="Phone numbers are stored in E.164 form, e.g. +14155550100.",
    )
