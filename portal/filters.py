import re

import django_filters
from django.db.models import Q

from portal.forms import style_filter_form
from portal.models import ProviderAccount, SyncRun


class StyledFilterSet(django_filters.FilterSet):
    """A FilterSet whose form has Bootstrap's compact classes, as every list's filters."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_filter_form(self.form)


class AccountFilter(django_filters.ModelChoiceFilter):
    """A choice of provider account, each named with its provider ("All accounts" when
    none is chosen)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", ProviderAccount.objects.select_related("provider"))
        kwargs.setdefault("empty_label", "All accounts")
        super().__init__(*args, **kwargs)


def digits_in_number(text: str, field: str = "number") -> Q:
    """The rows whose E.164 `field` holds the digits of `text`, typed in any format (`415
    555`, `+1 (415)`), or their national form (`(022) 6123`: E.164 drops the trunk prefix
    0). Text without digits sets no condition."""
    condition = Q()
    digits = re.sub(r"\D", "", text)
    if digits:
        condition |= Q(**{f"{field}__contains": digits})
    national = digits.lstrip("0")
    if national and national != digits:
        condition |= Q(**{f"{field}__contains": national})
    return condition


class SyncRunFilter(StyledFilterSet):
    account = AccountFilter()
    status = django_filters.ChoiceFilter(choices=SyncRun.Status.choices, empty_label="Any status")

    class Meta:
        model = SyncRun
        fields = ["account", "status"]
