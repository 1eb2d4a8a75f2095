from django.contrib.auth.models import Group


def _codenames(group_name):
    group = Group.objects.get(name=group_name)
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_support_role_finds_buys_labels_and_releases_numbers(db):
    assert _codenames("Support") == {
        "portal.view_provider",
        "portal.view_provideraccount",
        "portal.view_syncrun",
        "portal.run_sync",
        "numbers.view_phonenumber",
        "numbers.purchase_number",
        "numbers.label_number",
        "numbers.release_number",
        "numbers.view_numberorder",
        "alerts.view_alert",
        "alerts.change_alert",  # acknowledge or snooze
    }


def test_finance_role_reviews_spend_and_sees_numbers_read_only(db):
    perms = _codenames("Finance")
    assert perms == {
        "portal.view_provider",
        "portal.view_provideraccount",
        "portal.view_syncrun",
        "portal.run_sync",
        "numbers.view_phonenumber",
        "numbers.view_numberorder",
        "billing.view_transaction",
        "billing.export_transactions",
        "billing.view_spend_report",
        "billing.view_balancesnapshot",
        "billing.view_serviceplan",
        "alerts.view_alert",
        "alerts.change_alert",  # acknowledge or snooze
    }
    changes = {p for p in perms if p.split(".")[1].startswith(("add_", "change_", "delete_"))}
    assert changes == {"alerts.change_alert"}


def test_roles_have_group_permissions_through_the_user(support_user, finance_user):
    assert support_user.has_perm("numbers.purchase_number")
    assert not support_user.has_perm("billing.view_transaction")
    assert finance_user.has_perm("billing.view_transaction")
    assert not finance_user.has_perm("numbers.purchase_number")
