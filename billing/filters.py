import re
from datetime import date, datetime, timedelta

import django_filters
from django import forms
from django.utils import timezone

from billing.models import Transaction
from portal.filters import (
    AccountFilter,
    ProviderFilter,
    StyledFilterSet,
    digits_in_number,
    start_of_day,
)
from portal.forms import DateInput, MarksInvalidFields, MoreFiltersMixin
from portal.models import ProviderAccount
from portal.money import MONEY_DIGITS, MONEY_PLACES

# Dates outside these years are typing mistakes, and far enough out they cannot even be
# turned into a time of day in the portal's time zone.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def _this_month(today):
    start = _first_of_month(today)
    return start, _first_of_month(start + timedelta(days=31))


def _last_month(today):
    end = _first_of_month(today)
    return _first_of_month(end - timedelta(days=1)), end


def _last_90_days(today):
    # Today and the 89 days before it.
    return today - timedelta(days=89), today + timedelta(days=1)


def _this_year(today):
    return date(today.year, 1, 1), date(today.year + 1, 1, 1)


class Period:
    """The date presets: each a range of whole days, [first day, day after the last), that
    follows the calendar in the portal's time zone, so a saved link keeps meaning "last
    month" as months go by."""

    THIS_MONTH, LAST_MONTH, LAST_90_DAYS, THIS_YEAR = (
        "this_month",
        "last_month",
        "last_90_days",
        "this_year",
    )
    CHOICES = [
        (THIS_MONTH, "This month"),
        (LAST_MONTH, "Last month"),
        (LAST_90_DAYS, "Last 90 days"),
        (THIS_YEAR, "This year"),
    ]
    _RANGES = {
        THIS_MONTH: _this_month,
        LAST_MONTH: _last_month,
        LAST_90_DAYS: _last_90_days,
        THIS_YEAR: _this_year,
    }

    @classmethod
    def days(cls, name: str, today: date | None = None) -> tuple[date, date]:
        """The first day of the period and the day after its last."""
        return cls._RANGES[name](today or timezone.localdate())

    @classmethod
    def bounds(cls, name: str, today: date | None = None) -> tuple[datetime, datetime]:
        """The period as [start, end) moments in the portal's time zone."""
        first, after = cls.days(name, today)
        return start_of_day(first), start_of_day(after)


class TransactionFilterForm(MarksInvalidFields, forms.Form):
    aria_invalid = True

    def _clean_date(self, name):
        value = self.cleaned_data.get(name)
        if value and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise forms.ValidationError(
                "Enter a date between %(first)s and %(last)s.",
                params={"first": EARLIEST_DATE.year, "last": LATEST_DATE.year},
            )
        return value

    def clean_date_from(self):
        return self._clean_date("date_from")

    def clean_date_to(self):
        return self._clean_date("date_to")

    def clean_number(self):
        value = self.cleaned_data.get("number")
        if value and not re.search(r"\d", value):
            raise forms.ValidationError("Type some digits of the number.")
        return value

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        low, high = cleaned.get("amount_min"), cleaned.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "The largest amount is below the smallest.")
        return cleaned


class AmountFilter(django_filters.NumberFilter):
    """An amount bound. Amounts are sizes (the type says which way money went), and the
    field takes no more digits than the column holds, so no input reaches the database
    as something it cannot compare."""

    def __init__(self, *args, **kwargs):
        super().__init__(
            *args,
            field_name="amount",
            min_value=0,
            max_digits=MONEY_DIGITS,
            decimal_places=MONEY_PLACES,
            error_messages={
                "min_value": "Enter the amount without a sign; the type picks debits or credits."
            },
            **kwargs,
        )


class TransactionFilter(MoreFiltersMixin, StyledFilterSet):
    period = django_filters.ChoiceFilter(
        label="Period", choices=Period.CHOICES, method="in_period", empty_label="Any time"
    )
    date_from = django_filters.DateFilter(label="From", method="on_or_after", widget=DateInput)
    date_to = django_filters.DateFilter(label="To", method="on_or_before", widget=DateInput)
    provider = ProviderFilter(field_name="account__provider")
    account = AccountFilter(
        queryset=ProviderAccount.objects.select_related("provider").defer("api_secret")
    )
    kind = django_filters.ChoiceFilter(
        choices=Transaction.Kind.choices, empty_label="Any type", label="Type"
    )
    number = django_filters.CharFilter(label="Phone number", method="number_contains")
    description = django_filters.CharFilter(label="Description", lookup_expr="icontains")
    amount_min = AmountFilter(label="Amount from", lookup_expr="gte")
    amount_max = AmountFilter(label="Amount to", lookup_expr="lte")
    estimated = django_filters.ChoiceFilter(
        label="Estimates",
        choices=[("no", "Actual only"), ("yes", "Estimated only")],
        method="estimated_or_not",
        empty_label="Actual and estimated",
    )

    # The filters always in view; the others sit behind "More filters".
    PRIMARY = ("period", "date_from", "date_to", "provider", "account", "kind")

    class Meta:
        model = Transaction
        form = TransactionFilterForm
        fields = [
            "period",
            "date_from",
            "date_to",
            "provider",
            "account",
            "kind",
            "number",
            "description",
            "amount_min",
            "amount_max",
            "estimated",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fields = self.form.fields
        for name, placeholder in (("number", "Digits, any format"), ("description", "Text")):
            fields[name].widget.input_type = "search"
            fields[name].widget.attrs.update({"placeholder": placeholder, "autocomplete": "off"})
        for name in ("amount_min", "amount_max"):
            fields[name].widget.attrs.update({"inputmode": "decimal", "placeholder": "0.00"})

    @property
    def in_use(self) -> bool:
        data = self.data or {}
        return any(data.get(name) for name in self.form.fields)

    # Dates are whole days in the portal's time zone, filtered as ranges on the column so
    # its index serves; a period and dates together narrow each other.
    def in_period(self, queryset, name, value):
        start, end = Period.bounds(value)
        return queryset.filter(occurred_at__gte=start, occurred_at__lt=end)

    def on_or_after(self, queryset, name, value):
        return queryset.filter(occurred_at__gte=start_of_day(value))

    def on_or_before(self, queryset, name, value):
        return queryset.filter(occurred_at__lt=start_of_day(value + timedelta(days=1)))

    def number_contains(self, queryset, name, value):
        # The form lets through only text with digits (TransactionFilterForm.clean_number).
        return queryset.filter(digits_in_number(value))

    def estimated_or_not(self, queryset, name, value):
        return queryset.filter(is_estimate=value == "yes")
