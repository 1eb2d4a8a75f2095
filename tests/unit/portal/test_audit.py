"""The audit log: changes made in the admin are in it with who, when, before and after;
admins read it and nobody, superusers included, can change it.

Changes made in the portal's pages are audited where they are tested: labels and releases
(test_number_detail.py), bulk labels and tags (test_number_list.py), purchases and orders
(test_buying.py), thresholds (test_balances.py), account fields and credentials
(test_admin.py); read-only admins for every history model are in test_admin.py too."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent, ProviderAccount
from tests.support.factories import (
    AuditEventFactory,
    PhoneNumberFactory,
    ProviderAccountFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def only_event(action):
    (event,) = AuditEvent.objects.filter(action=action)
    return event


def assert_recent(event):
    assert timezone.now() - timedelta(minutes=1) < event.created_at <= timezone.now()


# At a provider that keeps labels in the portal alone: the admin's edit then touches no
# upstream (test_admin.py covers one that keeps them).
PORTAL_LABELS = {"account__provider__slug": "vobiz"}


def save_number(client, number, **data):
    url = reverse("admin:numbers_phonenumber_change", args=[number.pk])
    response = client.post(url, {"label": number.label, "tags": [], "_save": "Save", **data})
    assert response.status_code == 302
    number.refresh_from_db()


def test_tags_changed_in_the_admin_are_audited(admin_client, admin_user):
    number = PhoneNumberFactory(label="Front desk", **PORTAL_LABELS)
    number.tags.add(TagFactory(name="acme"))
    night = TagFactory(name="night")

    save_number(admin_client, number, tags=[night.pk])

    event = only_event(AuditEvent.Action.LABEL)
    assert (event.actor, event.object_id) == (admin_user, str(number.pk))
    assert (event.before, event.after) == ({"tags": ["acme"]}, {"tags": ["night"]})
    assert_recent(event)


def test_label_and_tags_changed_together_are_one_event(admin_client):
    number = PhoneNumberFactory(label="Front desk", **PORTAL_LABELS)
    tag = TagFactory(name="acme")

    save_number(admin_client, number, label="Night line", tags=[tag.pk])

    event = only_event(AuditEvent.Action.LABEL)
    assert event.before == {"label": "Front desk", "tags": []}
    assert event.after == {"label": "Night line", "tags": ["acme"]}


def test_saving_a_number_unchanged_is_not_audited(admin_client):
    number = PhoneNumberFactory(label="Front desk", **PORTAL_LABELS)
    number.tags.add(TagFactory(name="acme"))

    save_number(admin_client, number, tags=[number.tags.get().pk])

    assert not AuditEvent.objects.exists()


def test_deleting_an_account_is_audited_without_its_secret(admin_client, admin_user):
    account = ProviderAccountFactory(name="Old trial", api_secret="sk-live-gone-7777")
    account_id = account.pk

    response = admin_client.post(
        reverse("admin:portal_provideraccount_delete", args=[account_id]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not ProviderAccount.objects.filter(pk=account_id).exists()
    event = only_event(AuditEvent.Action.ACCOUNT_CHANGE)
    assert (event.actor, event.object_id) == (admin_user, str(account_id))
    assert event.before["name"] == "Old trial"
    assert event.before["provider"] == account.provider.name
    assert event.before["api_secret"] == "set"
    assert event.after == {"deleted": True}
    assert "sk-live-gone-7777" not in repr((event.before, event.after, event.object_repr))
    assert_recent(event)


def test_deactivating_accounts_from_the_list_audits_each(admin_client):
    accounts = [ProviderAccountFactory(), ProviderAccountFactory()]

    admin_client.post(
        reverse("admin:portal_provideraccount_changelist"),
        {
            "action": "deactivate_selected",
            "_selected_action": [account.pk for account in accounts],
        },
    )

    assert not ProviderAccount.objects.filter(is_active=True).exists()
    changed = AuditEvent.objects.filter(action=AuditEvent.Action.ACCOUNT_CHANGE)
    assert sorted(changed.values_list("object_id", flat=True)) == sorted(
        str(account.pk) for account in accounts
    )


def test_admins_read_the_audit_log_with_who_what_when_before_and_after(admin_client):
    event = AuditEventFactory(before={"label": "Front desk"}, after={"label": "Night line"})

    listing = admin_client.get(reverse("admin:portal_auditevent_changelist")).text
    page = admin_client.get(reverse("admin:portal_auditevent_change", args=[event.pk])).text

    assert event.object_repr in listing
    assert event.actor.username in listing
    assert "Label change" in listing
    for text in (event.actor.username, "Front desk", "Night line", "Label change"):
        assert text in page
    # A view page: no form to save and no way to delete.
    assert 'name="_save"' not in page
    assert reverse("admin:portal_auditevent_delete", args=[event.pk]) not in page


@pytest.mark.parametrize("role", ["support_user", "finance_user", "plain_user"])
def test_staff_without_admin_rights_cannot_read_the_audit_log(client, request, role):
    client.force_login(request.getfixturevalue(role))

    response = client.get(reverse("admin:portal_auditevent_changelist"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_not_even_a_superuser_may_add_change_or_delete_audit_events(admin_user, rf):
    request = rf.get("/")
    request.user = admin_user
    event = AuditEventFactory()
    audit_admin = admin.site._registry[AuditEvent]

    assert audit_admin.has_view_permission(request, event)
    assert not audit_admin.has_add_permission(request)
    assert not audit_admin.has_change_permission(request, event)
    assert not audit_admin.has_delete_permission(request, event)
