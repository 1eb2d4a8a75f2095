import re
from datetime import date, datetime, time

import django_filters
from django.db.models import Q
from django.utils import timezone

from portal.forms import style_filter_form
from portal.models import Provider, ProviderAccount, SyncRun


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


class ProviderFilter(django_filters.ModelChoiceFilter):
    """A choice of provider, by its slug in the query string ("All providers" when none
    is chosen); `field_name` names the path to it where the rows do not hold it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label", "Provider")
        kwargs.setdefault("queryset", Provider.objects.all())
        kwargs.setdefault("to_field_name", "slug")
        kwargs.setdefault("empty_label", "All providers")
        super().__init__(*args, **kwargs)


def start_of_day(day: date) -> datetime:
    """Midnight at the start of `day` in the portal's time zone (settings.TIME_ZONE): date
    filters are whole days there, as ranges on the column so its index serves."""
    return timezone.make_aware(datetime.combine(day, time.min))


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
