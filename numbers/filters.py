from datetime import timedelta

import django_filters
from django import forms
from django.db.models import Q
from django.utils.text import capfirst

from numbers.models import NumberOrder, PhoneNumber, Tag
from numbers.selectors.usage import idle_condition
from portal.filters import (
    AccountFilter,
    ProviderFilter,
    StyledFilterSet,
    digits_in_number,
    start_of_day,
)
from portal.forms import DateInput, MoreFiltersMixin
from portal.providers.phone import country_choices

CAPABILITY_CHOICES = [
    (name, capfirst(PhoneNumber._meta.get_field(name).verbose_name))
    for name in PhoneNumber.CAPABILITIES
]


class PhoneNumberFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("purchased_from"), cleaned.get("purchased_to")
        if start and end and start > end:
            self.add_error("purchased_to", "The end date is before the start date.")
        return cleaned


# The longest "no calls in N days" asked: ten years, far past any call history kept.
MAX_IDLE_DAYS = 3650


class DaysFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class PhoneNumberFilter(MoreFiltersMixin, StyledFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    provider = ProviderFilter()
    account = AccountFilter()
    status = django_filters.ChoiceFilter(
        choices=PhoneNumber.Status.choices, empty_label="Any status"
    )
    tag = django_filters.ModelChoiceFilter(
        label="Tag",
        field_name="tags",
        queryset=Tag.objects.all(),
        to_field_name="name",
        empty_label="Any tag",
    )
    country = django_filters.ChoiceFilter(choices=country_choices, empty_label="Any country")
    number_type = django_filters.ChoiceFilter(
        label="Type", choices=PhoneNumber.Type.choices, empty_label="Any type"
    )
    capability = django_filters.ChoiceFilter(
        label="Capability",
        choices=CAPABILITY_CHOICES,
        method="has_capability",
        empty_label="Any capability",
    )
    label = django_filters.CharFilter(
        label="Portal label", field_name="label", lookup_expr="icontains"
    )
    idle_days = DaysFilter(
        label="No calls in (days)",
        method="idle_for",
        min_value=1,
        max_value=MAX_IDLE_DAYS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "e.g. 60"}),
    )
    purchased_from = django_filters.DateFilter(
        label="Purchased from", method="purchased_on_or_after", widget=DateInput
    )
    purchased_to = django_filters.DateFilter(
        label="Purchased until", method="purchased_on_or_before", widget=DateInput
    )

    # The filters always in view; the others sit behind "More filters".
    PRIMARY = ("q", "provider", "account", "status")

    class Meta:
        model = PhoneNumber
        form = PhoneNumberFilterForm
        fields = [
            "q",
            "provider",
            "account",
            "status",
            "tag",
            "country",
            "number_type",
            "capability",
            "label",
            "idle_days",
            "purchased_from",
            "purchased_to",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        search = self.form.fields["q"].widget
        search.input_type = "search"
        search.attrs.update({"placeholder": "Digits or label", "autocomplete": "off"})
        # Typing filters as the search does (list_page.html triggers on search inputs).
        self.form.fields["label"].widget.input_type = "search"
        self.form.fields["label"].widget.attrs["autocomplete"] = "off"

    def describe(self) -> list[tuple[str, str]]:
        """The filters in use, as (label, value as shown in the form) pairs; call only on a
        valid filter."""
        described = []
        for name, field in self.form.fields.items():
            value = self.form.cleaned_data.get(name)
            if value in (None, ""):
                continue
            if hasattr(field, "choices") and not hasattr(value, "pk"):
                value = dict(field.choices).get(value, value)
            described.append((str(field.label), str(value)))
        return described

    def search(self, queryset, name, value):
        """The digits in the text match inside the number (portal.filters.digits_in_number);
        the text also matches the portal's and the provider's labels."""
        labels = Q(label__icontains=value) | Q(upstream_label__icontains=value)
        return queryset.filter(labels | digits_in_number(value))

    def has_capability(self, queryset, name, value):
        return queryset.filter(**{value: True})

    def idle_for(self, queryset, name, value):
        """Numbers nobody called in `value` days (numbers.selectors.usage.idle_condition):
        never those whose calls were not synced, nor released ones."""
        return queryset.filter(idle_condition(value))

    # Whole days in the portal's time zone, as ranges on the column so its index serves.
    def purchased_on_or_after(self, queryset, name, value):
        return queryset.filter(purchased_at__gte=start_of_day(value))

    def purchased_on_or_before(self, queryset, name, value):
        return queryset.filter(purchased_at__lt=start_of_day(value + timedelta(days=1)))


class NumberOrderFilter(StyledFilterSet):
    state = django_filters.ChoiceFilter(choices=NumberOrder.State.choices, empty_label="Any state")
    account = AccountFilter()

    class Meta:
        model = NumberOrder
        fields = ["state", "account"]
