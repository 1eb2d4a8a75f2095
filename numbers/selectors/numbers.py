from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q
from django.http import QueryDict

from numbers.filters import PhoneNumberFilter
from numbers.models import PhoneNumber
from numbers.selectors.usage import with_calls_in_last_days
from portal.models import Provider
from portal.money import money_sum

ZERO = Decimal(0)


def number_overview() -> tuple[list[dict], list[dict]]:
    """The dashboard's numbers, from one grouped pass over the table (and the providers'
    names: grouping by the joined name would cost as much again as the pass itself):

    - per provider, by name: {provider, slug, cells: (status, count) in Status order, total};
    - per currency: {currency, total: the known monthly fees of the active numbers,
      numbers, unknown: how many of them have no known fee (left out of the total)}.
    """
    grouped = (
        PhoneNumber.objects.values("provider_id", "status", "currency")
        .annotate(
            n=Count("id"),
            fees=money_sum("monthly_fee"),
            unknown=Count("id", filter=Q(monthly_fee__isnull=True)),
        )
        .order_by()
    )
    counts, costs = defaultdict(dict), {}
    for group in grouped:
        status, currency = group["status"], group["currency"]
        by_status = counts[group["provider_id"]]
        by_status[status] = by_status.get(status, 0) + group["n"]
        if status == PhoneNumber.Status.ACTIVE:
            cost = costs.setdefault(
                currency, {"currency": currency, "total": ZERO, "numbers": 0, "unknown": 0}
            )
            cost["total"] += group["fees"]
            cost["numbers"] += group["n"]
            cost["unknown"] += group["unknown"]
    rows = [
        {
            "provider": provider.name,
            "slug": provider.slug,
            "counts": counts[provider.pk],
            "cells": [
                (status, counts[provider.pk].get(status, 0)) for status in PhoneNumber.Status
            ],
            "total": sum(counts[provider.pk].values()),
        }
        for provider in Provider.objects.filter(pk__in=counts).order_by("name")
    ]
    return rows, [costs[currency] for currency in sorted(costs)]


def numbers_for_list():
    """Numbers with what a list row shows: provider and account joined (without the
    account's secret, which would be decrypted for every row). Tags and calls come
    separately, from `with_row_details`, for the rows actually shown."""
    return PhoneNumber.objects.select_related("provider", "account").defer("account__api_secret")


def with_row_details(numbers):
    """Give each number what a list row shows beyond its own columns: its tags and its
    calls of the last 30 days, a query each for all of them."""
    return with_calls_in_last_days(with_tag_names(numbers))


def with_tag_names(numbers):
    """Give each number `tag_names` (sorted), from one query for all of them. Cheaper than
    prefetch_related, which builds a queryset per row: that dominates a large export."""
    names = defaultdict(list)
    pairs = (
        PhoneNumber.tags.through.objects.filter(
            phonenumber_id__in=[number.pk for number in numbers]
        )
        .order_by("tag__name")
        .values_list("phonenumber_id", "tag__name")
    )
    for number_id, name in pairs:
        names[number_id].append(name)
    for number in numbers:
        number.tag_names = names[number.pk]
    return numbers


class InvalidFilter(ValueError):
    """A list filter the form refused; applying the rest would match more than was meant."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {' '.join(text)}" for name, text in errors.items()))


def numbers_matching(query: QueryDict):
    """The numbers the list shows for the querystring `query`, re-applied on the server
    (never a client's list of ids). Raises InvalidFilter rather than widen the match by
    dropping a filter the form refused."""
    filterset = PhoneNumberFilter(query, queryset=PhoneNumber.objects.all())
    if not filterset.is_valid():
        raise InvalidFilter(filterset.errors)
    return filterset.qs
