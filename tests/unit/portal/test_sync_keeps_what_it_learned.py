"""Sync never forgets: a number bought through the page keeps, after the next syncs, every
field the purchase taught the portal that the listing does not state (Audian's region and
capabilities, Ravan's purchase time), and its fees stay what the provider said."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from numbers.models import PhoneNumber
from portal.models import SyncRun
from portal.services.sync import sync_account
from tests.support.market import HTMX_DIALOG, confirm, offer_token
from tests.support.world import SLUGS

# Named here rather than taken from the sync's SYNCED_FIELDS on purpose: a field the sync
# stopped writing would drop out of that list, and its loss would go unseen. `label` is the
# portal's own, which no sync may touch.
KEPT_FIELDS = (
    *("country", "region", "number_type", "voice", "sms", "mms", "fax"),
    *("setup_fee", "period_fee", "rental_period_days", "monthly_fee"),
    *("purchased_at", "currency", "label"),
)


def known(number: PhoneNumber) -> dict:
    """The fields the portal holds a value for (a listing may add what it did not know)."""
    number.refresh_from_db()
    values = {name: getattr(number, name) for name in KEPT_FIELDS}
    return {name: value for name, value in values.items() if value not in ("", None)}


@pytest.mark.parametrize("slug", SLUGS)
def test_a_number_bought_on_the_page_keeps_what_the_purchase_said(
    client, support_user, market, slug
):
    country = "IN" if slug == "vobiz" else "US"
    available, token = offer_token(market, slug, country)
    client.force_login(support_user)
    response = confirm(client, token, uuid.uuid4(), "Front desk", **HTMX_DIALOG)
    assert response.status_code == 200 and "HX-Redirect" in response

    number = PhoneNumber.objects.get(number=available.number)
    bought = known(number)
    # What the offer said is what the portal holds: nothing left blank that it knew.
    assert number.region == available.region
    assert {name for name in PhoneNumber.CAPABILITIES if bought[name]} == set(
        available.capabilities
    )
    assert bought["period_fee"] == available.monthly_fee
    assert bought["purchased_at"] is not None

    for _ in range(2):
        run = sync_account(market.accounts[slug])
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        after = known(number)
        assert {name: after.get(name) for name in bought} == bought

    # A capability filter still finds it (it hid every Audian number once).
    capability = sorted(available.capabilities)[0]
    listing = client.get(reverse("numbers:list"), {"capability": capability, "q": number.number})
    assert number.display_number in listing.content.decode()


@pytest.mark.parametrize(("slug", "listing_wins"), [("ravan", False), ("tryvox", True)])
def test_the_purchase_date_follows_each_providers_precedence(world, slug, listing_wins):
    """Ravan's `created_at` is when it made the record: the purchase's own time, once the
    portal has it, stands. TryVox's listing states the purchase date itself."""
    account = world.accounts[slug]
    sync_account(account)
    number = PhoneNumber.objects.filter(account=account).first()
    listed = number.purchased_at
    bought_at = listed - timedelta(hours=5)
    PhoneNumber.objects.filter(pk=number.pk).update(purchased_at=bought_at)

    assert sync_account(account).status == SyncRun.Status.SUCCEEDED
    number.refresh_from_db()
    assert number.purchased_at == (listed if listing_wins else bought_at)
