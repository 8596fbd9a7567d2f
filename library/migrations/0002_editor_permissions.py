"""Editors and Moderators keep the resource library: they add, change and remove documents and
categories (the editorial groups are blog's, see blog/migrations/0002_editorial_groups.py)."""

from django.db import migrations

MODELS = ["librarydocument", "documentcategory"]


def _permission(apps, model, codename):
    # This run's new models have no permissions yet (Django adds them after all migrations).
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label="library", model=model)
    action, _, noun = codename.partition("_")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=codename, defaults={"name": f"Can {action} {noun}"}
    )
    return permission


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ("Editors", "Moderators"):
        group, _ = Group.objects.get_or_create(name=name)
        for model in MODELS:
            for action in ("add", "change", "delete", "view"):
                group.permissions.add(_permission(apps, model, f"{action}_{model}"))


class Migration(migrations.Migration):
    dependencies = [
        ("library", "0001_initial"),
        ("blog", "0002_editorial_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
