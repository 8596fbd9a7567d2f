"""List moderators: a group that opens the Wagtail admin and nothing else there, for the
moderation queue. Which lists a person moderates is who the list names as its moderators,
never the group: page approvers ("Moderators") no longer moderate or read every list."""

from django.db import migrations


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type, _ = ContentType.objects.get_or_create(app_label="wagtailadmin", model="admin")
    access_admin, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="access_admin",
        defaults={"name": "Can access Wagtail admin"},
    )
    group, _ = Group.objects.get_or_create(name="List moderators")
    group.permissions.set([access_admin])


class Migration(migrations.Migration):
    dependencies = [
        ("discussions", "0004_move_attachments_to_private_storage"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        # Wagtail's own migrations give "choose" rights to every group that opens the admin
        # when they run; run them first, so this narrow group never gets them.
        ("wagtaildocs", "0011_add_choose_permissions"),
        ("wagtailimages", "0023_add_choose_permissions"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
