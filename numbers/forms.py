"""The numbers app's forms: the search for numbers to buy and the purchase, a number's
label and release, and the list's bulk label and tag change."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from numbers.models import PhoneNumber
from numbers.selectors import offers, search
from numbers.selectors.numbers import numbers_matching
from numbers.services.bulk import BulkChange, TagAction, parse_tag_names
from numbers.services.labels import clean_label
from numbers.services.release import typed_number_matches
from numbers.tables import PER_PAGE_CHOICES
from portal.forms import MarksInvalidFields, style_filter_form
from portal.providers.base import NUMBER_CAPABILITIES, SearchQuery
from portal.providers.phone import country_choices

# What the area field takes: an area code (digits; spaces, brackets and dashes dropped),
# or a region by code or name (letters, words joined by spaces, dots, dashes, apostrophes).
AREA_CODE_FORMATTING = re.compile(r"[\s()-]")
AREA_CODE = re.compile(r"[0-9]{1,8}")
REGION = re.compile(r"[^\W\d_]+(?:[ .'\u2019-]+[^\W\d_]+)*\.?")


class NumberSearchForm(MarksInvalidFields, forms.Form):
    country = forms.ChoiceField(choices=country_choices, initial="US")
    area = forms.CharField(
        label="Region or area code",
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "e.g. CA or 415"}),
    )
    contains = forms.CharField(
        label="Digits contained",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"placeholder": "e.g. 555", "inputmode": "numeric"}),
    )
    number_type = forms.ChoiceField(
        label="Type",
        required=False,
        choices=[
            ("", "Any type"),
            *[(value, label) for value, label in PhoneNumber.Type.choices if value != "unknown"],
        ],
    )
    capabilities = forms.MultipleChoiceField(
        required=False,
        choices=[(name, name.upper()) for name in NUMBER_CAPABILITIES],
        widget=forms.CheckboxSelectMultiple,
    )
    # The results' order, kept across searches; an unknown one is the default order (as the
    # view reads it), not an error the hidden field could never show.
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.widget.is_hidden:
                continue
            if isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select"
            elif name == "capabilities":
                field.widget.attrs["class"] = "form-check-input"
            else:
                field.widget.attrs["class"] = "form-control"
        self.fields["area"].widget.attrs["autocomplete"] = "off"
        self.fields["contains"].widget.attrs["autocomplete"] = "off"

    def clean_sort(self):
        sort = self.cleaned_data["sort"]
        return sort if sort in search.SORTS else ""

    def clean_area(self):
        """Checked here, so that what no provider could match never reaches them (each
        answered "bad pattern" for `abc!`)."""
        area = self.cleaned_data["area"].strip()
        digits = AREA_CODE_FORMATTING.sub("", area)
        if not area or AREA_CODE.fullmatch(digits):
            return digits
        if REGION.fullmatch(area):
            return area
        raise forms.ValidationError(
            "Enter an area code (digits, e.g. 415) or a region (letters, e.g. CA or Karnataka)."
        )

    def clean_contains(self):
        # Digits in any format: "415 555", "(415)" and "415-555" all mean the digits.
        value = self.cleaned_data["contains"]
        digits = "".join(character for character in value if character.isdigit())
        if value.strip() and not digits:
            raise forms.ValidationError("Enter digits, e.g. 555 or 415 555.")
        return digits

    def query(self) -> SearchQuery:
        data = self.cleaned_data
        return SearchQuery(
            country=data["country"],
            area=data["area"].strip(),
            contains=data["contains"],
            number_type=data["number_type"],
            capabilities=frozenset(data["capabilities"]),
        )


class BuyForm(forms.Form):
    offer = forms.CharField(widget=forms.HiddenInput)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    label = forms.CharField(
        required=False,
        max_length=255,
        help_text="How staff will recognise this number: a customer, a line, a team.",
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )

    def clean_offer(self):
        try:
            self.account, self.available = offers.offer_from_token(self.cleaned_data["offer"])
        except offers.OfferExpired as exc:
            raise forms.ValidationError(f"{exc} Search again to buy a number.") from exc
        return self.cleaned_data["offer"]


class LabelForm(forms.Form):
    # No maxlength on the input: an over-long label gets its message in place instead of
    # being cut off silently while typing.
    label = forms.CharField(required=False, strip=False)

    def clean_label(self):
        return clean_label(self.cleaned_data["label"])


class ReleaseForm(forms.Form):
    confirmation = forms.CharField(label="Type the number to confirm", max_length=40)

    def __init__(self, *args, phone_number, **kwargs):
        super().__init__(*args, **kwargs)
        self.phone_number = phone_number

    def clean_confirmation(self):
        typed = self.cleaned_data["confirmation"]
        if not typed_number_matches(self.phone_number, typed):
            raise ValidationError(
                "That is not this number. Type %(number)s to release it.",
                params={"number": self.phone_number.display_number},
            )
        return typed


class SelectedIdsField(forms.Field):
    """The ids of the ticked rows (`pk`, repeated); at most one page's worth."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        try:
            ids = sorted({int(item) for item in value or ()})
        except (TypeError, ValueError) as error:
            raise ValidationError("The selection is not a list of numbers.") from error
        if len(ids) > max(PER_PAGE_CHOICES):
            raise ValidationError(
                "Tick at most %(limit)d numbers, or apply the change to all numbers matching "
                "the filter.",
                params={"limit": max(PER_PAGE_CHOICES)},
            )
        return ids


class BulkLabelForm(forms.Form):
    """A label and/or tag change for the numbers ticked in the list (`pk`) or for every
    number the list's filter matches (`query`: the list's querystring, filtered again on
    the server)."""

    LABEL_CHOICES = [("", "Leave labels"), ("set", "Set label to"), ("clear", "Clear labels")]
    SELECTED, ALL = "selected", "all"
    # The page the change was made from, and goes back to: a name, never a URL.
    LIST, IDLE = "", "idle"

    label_action = forms.ChoiceField(label="Label", choices=LABEL_CHOICES, required=False)
    label = forms.CharField(label="New label", required=False, strip=False)
    tag_action = forms.ChoiceField(
        label="Tags", choices=[("", "Leave tags"), *TagAction.choices], required=False
    )
    tags = forms.CharField(label="Tag names", required=False)
    scope = forms.ChoiceField(
        choices=[(SELECTED, "Ticked numbers"), (ALL, "All numbers matching the filter")],
        widget=forms.HiddenInput,
    )
    pk = SelectedIdsField(required=False)
    query = forms.CharField(required=False, widget=forms.HiddenInput)
    origin = forms.ChoiceField(
        choices=[(LIST, "Numbers"), (IDLE, "Idle numbers")],
        required=False,
        widget=forms.HiddenInput,
    )
    # The count the person confirmed; applying to a different count asks again.
    confirmed_count = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # In the list the text fields sit beside their action, named by aria-label.
        self.fields["label"].widget.attrs.update(
            {"placeholder": "New label", "aria-label": "New label"}
        )
        self.fields["tags"].widget.attrs.update(
            {"placeholder": "Tags, comma-separated", "aria-label": "Tag names"}
        )
        style_filter_form(self)

    def clean_label(self):
        return clean_label(self.cleaned_data["label"])

    def clean_tags(self):
        return parse_tag_names(self.cleaned_data["tags"])

    def clean(self):
        cleaned = super().clean()
        label_action, tag_action = cleaned.get("label_action"), cleaned.get("tag_action")
        if label_action == "set" and cleaned.get("label") == "":
            self.add_error("label", "Type the new label, or choose “Clear labels”.")
        if tag_action in (TagAction.ADD, TagAction.REMOVE) and cleaned.get("tags") == ():
            self.add_error("tags", "Name at least one tag.")
        if not label_action and not tag_action:
            raise ValidationError("Choose a label or a tag change to make.")
        if cleaned.get("scope") == self.SELECTED and cleaned.get("pk") == []:
            raise ValidationError(
                "Tick the numbers to change, or apply the change to all numbers matching "
                "the filter."
            )
        return cleaned

    @property
    def list_query(self) -> QueryDict:
        return QueryDict(self.data.get("query", ""))

    @property
    def from_idle(self) -> bool:
        return self.data.get("origin") == self.IDLE

    def change(self) -> BulkChange:
        label_action = self.cleaned_data["label_action"]
        tag_action = self.cleaned_data["tag_action"]
        return BulkChange(
            label={"set": self.cleaned_data["label"], "clear": ""}.get(label_action),
            tag_action=TagAction(tag_action) if tag_action else None,
            tag_names=self.cleaned_data["tags"] if tag_action else (),
        )

    def numbers(self):
        """The numbers to change. Raises InvalidFilter for a filter the list refuses."""
        if self.cleaned_data["scope"] == self.ALL:
            return numbers_matching(self.list_query)
        return PhoneNumber.objects.filter(pk__in=self.cleaned_data["pk"])
