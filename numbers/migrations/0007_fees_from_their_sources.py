"""Fees the portal stored as 0 without any source stating them become unknown (NULL), and
every fee says where it came from (numbers.fees).

- Audian's listing states no fee: its zeros were defaults. They become NULL, then take the
  fees quoted when the portal bought the number (its completed order), where there is one;
  the next sync derives the rest from the account's service plan (billing.plans).
- Ravan states no setup fee (NULL), and its `price` is per 28 days: kept as the period fee,
  the monthly fee becomes its monthly equivalent (× 365.25 / 12 / 28).
- TryVox and Vobiz state both fees in their listings.
"""

from decimal import Decimal

from django.db import migrations
from django.db.models import F

QUANTUM = Decimal("0.0001")
RAVAN_PERIOD_DAYS = 28


def forwards(apps, schema_editor):
    PhoneNumber = apps.get_model("numbers", "PhoneNumber")
    NumberOrder = apps.get_model("numbers", "NumberOrder")
    numbers = PhoneNumber.objects.all()
    numbers.exclude(monthly_fee=None).update(monthly_fee_source="listing")
    numbers.exclude(setup_fee=None).update(setup_fee_source="listing")

    audian = numbers.filter(provider__slug="audian")
    audian.update(setup_fee=None, setup_fee_source="", monthly_fee=None, monthly_fee_source="")
    quoted = NumberOrder.objects.filter(
        state="completed", phone_number__provider__slug="audian"
    ).order_by("phone_number_id", "-created_at")
    latest = {}
    for order in quoted:
        latest.setdefault(order.phone_number_id, order)
    for number_id, order in latest.items():
        values = {}
        if order.setup_fee is not None:
            values.update(setup_fee=order.setup_fee, setup_fee_source="purchase")
        if order.monthly_fee is not None:
            values.update(monthly_fee=order.monthly_fee, monthly_fee_source="purchase")
        if values:
            PhoneNumber.objects.filter(pk=number_id).update(**values)

    numbers.filter(provider__slug="ravan").update(setup_fee=None, setup_fee_source="")
    ravan = numbers.filter(provider__slug="ravan").exclude(monthly_fee=None)
    for number in ravan.only("pk", "monthly_fee").iterator():
        monthly = number.monthly_fee * Decimal("365.25") / 12 / RAVAN_PERIOD_DAYS
        PhoneNumber.objects.filter(pk=number.pk).update(
            period_fee=number.monthly_fee,
            rental_period_days=RAVAN_PERIOD_DAYS,
            monthly_fee=monthly.quantize(QUANTUM),
        )
    others = numbers.exclude(provider__slug="ravan").exclude(monthly_fee=None)
    others.update(period_fee=F("monthly_fee"))


class Migration(migrations.Migration):
    dependencies = [("numbers", "0006_fees_unknown_and_sourced")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
