"""Staff roles are Django groups whose permissions are set by data migrations only.

Each migration that changes a role lists the permissions it adds or removes and calls
`grant` / `revoke`, so a fresh database and an old one end with the same groups.
"""

SUPPORT = "Support"
FINANCE = "Finance"


def _ensure_permissions_exist(apps):
    # Permissions are normally created after *all* migrations ran (post_migrate); a data
    # migration that assigns them on a fresh database has to create them first.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def _permissions(apps, names):
    Permission = apps.get_model("auth", "Permission")
    wanted = {tuple(name.split(".")) for name in names}
    found = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.select_related("content_type").filter(
            codename__in=[codename for _, codename in wanted]
        )
    }
    missing = wanted - found.keys()
    if missing:
        raise LookupError(f"unknown permissions: {sorted('.'.join(m) for m in missing)}")
    return [found[key] for key in wanted]


def grant(apps, group_name, permission_names):
    _ensure_permissions_exist(apps)
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=group_name)
    group.permissions.add(*_permissions(apps, permission_names))


def revoke(apps, group_name, permission_names):
    Group = apps.get_model("auth", "Group")
    group = Group.objects.filter(name=group_name).first()
    if group:
        group.permissions.remove(*_permissions(apps, permission_names))
