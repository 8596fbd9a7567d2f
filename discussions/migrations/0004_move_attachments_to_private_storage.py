"""Move attachment files stored under MEDIA_ROOT (public /media/, guessable names) into the
private attachments storage under random names, and delete the public copies."""

import secrets

from django.core.files.storage import storages
from django.db import migrations


def move_to_private(apps, schema_editor):
    Attachment = apps.get_model("discussions", "Attachment")
    public, private = storages["default"], storages["attachments"]
    for attachment in Attachment.objects.exclude(file="").iterator():
        old_name = attachment.file.name
        if old_name.startswith("discussions/") and private.exists(old_name):
            continue
        if not public.exists(old_name):
            continue
        with public.open(old_name, "rb") as source:
            new_name = private.save(f"discussions/{secrets.token_hex(16)}", source)
        Attachment.objects.filter(pk=attachment.pk).update(file=new_name)
        public.delete(old_name)


class Migration(migrations.Migration):
    dependencies = [("discussions", "0003_sender_trust_and_private_attachments")]

    operations = [migrations.RunPython(move_to_private, migrations.RunPython.noop)]
