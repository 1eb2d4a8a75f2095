"""Selects are written in Python by the project's form renderer; they must be the very
characters Django's own templates write, for every kind of select."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from numbers.filters import PhoneNumberFilter
from numbers.models import PhoneNumber
from portal.forms import QuickSelectRenderer


class Everything(forms.Form):
    plain = forms.ChoiceField(choices=[("a", "A & B"), ("<b>", '"quoted"'), (3, "three")])
    grouped = forms.ChoiceField(
        choices=[("", "Pick one"), ("Fruit", [("apple", "Apple"), ("pear", "Pear")])],
        widget=forms.Select(attrs={"class": "form-select", "autofocus": True, "hidden": False}),
    )
    many = forms.MultipleChoiceField(choices=[(1, "One"), (2, "Two"), (3, "Three")])
    nullable = forms.NullBooleanField()


@pytest.mark.parametrize("data", [{}, {"plain": "<b>", "grouped": "pear", "many": ["1", "3"]}])
def test_selects_are_written_as_djangos_templates_write_them(data):
    for name in Everything.base_fields:
        quick = Everything(data, renderer=QuickSelectRenderer())[name]
        standard = Everything(data, renderer=DjangoTemplates())[name]
        assert str(quick) == str(standard), name
    assert "&lt;b&gt;" in str(Everything(data)["plain"])


@pytest.mark.django_db
def test_the_numbers_filter_selects_match_too(support_user):
    """Model choices (providers, accounts, tags) and the 250 countries, one chosen."""
    query = {"country": "IN", "status": PhoneNumber.Status.ACTIVE}
    quick = PhoneNumberFilter(query, queryset=PhoneNumber.objects.none()).form
    standard = PhoneNumberFilter(query, queryset=PhoneNumber.objects.none()).form
    assert isinstance(quick.renderer, QuickSelectRenderer)
    standard.renderer = DjangoTemplates()
    for name in quick.fields:
        assert str(quick[name]) == str(standard[name]), name
    assert '<option value="IN" selected>' in str(quick["country"])
