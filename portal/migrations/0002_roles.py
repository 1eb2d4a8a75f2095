from django.db import migrations

from portal import roles

SUPPORT_PERMISSIONS = [
    "portal.view_provider",
    "portal.view_provideraccount",
    "portal.view_syncrun",
    "portal.run_sync",
    "numbers.view_phonenumber",
    "numbers.purchase_number",
    "numbers.label_number",
    "numbers.release_number",
    "numbers.view_numberorder",
]

FINANCE_PERMISSIONS = [
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
]


def create_roles(apps, schema_editor):
    roles.grant(apps, roles.SUPPORT, SUPPORT_PERMISSIONS)
    roles.grant(apps, roles.FINANCE, FINANCE_PERMISSIONS)


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[roles.SUPPORT, roles.FINANCE]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("numbers", "0001_initial"),
        ("billing", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
