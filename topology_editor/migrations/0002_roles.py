"""The three roles as groups holding their permissions (see topology_editor/roles.py).

The permission lists are written out here rather than imported, so that this migration keeps
meaning what it meant when it ran; a test checks they match `roles.ROLE_PERMISSIONS`.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = [
    "view_deployment",
    "view_statefulentity",
    "view_pod",
    "view_revision",
    "view_reconcilerun",
    "view_auditentry",
]
EDIT = VIEW + [
    f"{verb}_{model}"
    for model in ("deployment", "statefulentity", "pod")
    for verb in ("add", "change", "delete")
]
OPERATE = EDIT + ["rebalance_deployment", "rollback_deployment"]
ROLES = {"viewer": VIEW, "editor": EDIT, "operator": OPERATE}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran (post_migrate); create ours now.
    app_config = apps.get_app_config("topology_editor")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.set(
            permission_model.objects.filter(content_type__app_label="topology_editor", codename__in=codenames)
        )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("topology_editor", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
