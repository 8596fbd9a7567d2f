"""The check-in role: a permission that opens the check-in screen and nothing else of the
conference staff pages, and a "Check-in staff" group holding only it."""

from django.db import migrations


def forwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    # Django creates a new model permission only after all migrations ran; create it as it would.
    content_type, _ = ContentType.objects.get_or_create(app_label="conferences", model="attendee")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="check_in_attendee",
        defaults={"name": "Can check attendees in"},
    )
    group, _ = Group.objects.get_or_create(name="Check-in staff")
    group.permissions.set([permission])


class Migration(migrations.Migration):
    dependencies = [
        ("conferences", "0003_access_codes_order_limits"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        # Wagtail's own migrations give "choose" rights to every group that opens the admin
        # when they run; run them first, so this narrow group never gets them.
        ("wagtaildocs", "0011_add_choose_permissions"),
        ("wagtailimages", "0023_add_choose_permissions"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="attendee",
            options={
                "ordering": ["pk"],
                "permissions": [("check_in_attendee", "Can check attendees in")],
            },
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
