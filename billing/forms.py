"""The billing pages' forms: an account's low-balance threshold and monthly budget, and the
spend report's period."""

import re
from datetime import date

from django import forms

from billing.selectors.months import MonthRange, add_months
from billing.selectors.spend import Breakdown
from portal.forms import MarksInvalidFields, style_filter_form
from portal.money import MONEY_DIGITS, MONEY_PLACES

# The report's period: the last twelve months unless the URL says otherwise, and never
# more than three years (a table of a column per month).
DEFAULT_MONTHS = 12
MAX_MONTHS = 36


def account_amount_field(label: str, help_text: str) -> forms.DecimalField:
    """An amount set on an account, in its currency; empty: none set."""
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=0,
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        help_text=help_text,
    )


class ThresholdForm(forms.Form):
    threshold = account_amount_field("Low-balance threshold", "Empty: no warning for this account.")


class BudgetForm(forms.Form):
    budget = account_amount_field(
        "Monthly budget", "Empty: no budget, and no alert about this account's spend."
    )


class MonthInput(forms.DateInput):
    input_type = "month"

    def format_value(self, value):
        return f"{value:%Y-%m}" if isinstance(value, date) else value


class MonthField(forms.Field):
    """A calendar month, entered as YYYY-MM (what <input type=month> sends)."""

    widget = MonthInput
    default_error_messages = {"invalid": "Enter a month as YYYY-MM, for example 2025-03."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, date):
            return value.replace(day=1)
        match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(value))
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return date(int(match.group(1)), int(match.group(2)), 1)


class SpendPeriodForm(MarksInvalidFields, forms.Form):
    start = MonthField(label="From")
    end = MonthField(label="To")
    by = forms.ChoiceField(label="Break down by", choices=Breakdown.choices)

    def __init__(self, query, *, current_month: date):
        # A field left out or empty means its default, so /billing/spend/ alone is the
        # last twelve months by provider and a URL never has to spell out every field.
        self.defaults = {
            "start": f"{add_months(current_month, 1 - DEFAULT_MONTHS):%Y-%m}",
            "end": f"{current_month:%Y-%m}",
            "by": Breakdown.PROVIDER.value,
        }
        given = {name: query.get(name, "").strip() for name in self.defaults}
        super().__init__({name: given[name] or self.defaults[name] for name in self.defaults})
        style_filter_form(self)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                self.add_error("end", "The period ends before it starts.")
            elif MonthRange(start, end).count > MAX_MONTHS:
                self.add_error("start", f"Choose at most {MAX_MONTHS} months.")
        return cleaned

    @property
    def period(self) -> MonthRange:
        return MonthRange(self.cleaned_data["start"], self.cleaned_data["end"])
