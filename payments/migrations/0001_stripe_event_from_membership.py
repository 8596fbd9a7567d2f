# StripeEvent moves here from membership. Its table stays `membership_stripeevent` and its rows
# stay put: this creates the model in Django's state only (membership 0004 drops it from
# membership's state, not from the database).

import django.utils.timezone
from django.db import migrations, models


def _content_type_to(app_label):
    """Move the model's content type, so its permissions (and the staff granted them) and its
    admin history follow it. On a fresh database there is none yet; nothing to do."""

    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        other = "membership" if app_label == "payments" else "payments"
        if not ContentType.objects.filter(app_label=app_label, model="stripeevent").exists():
            ContentType.objects.filter(app_label=other, model="stripeevent").update(
                app_label=app_label
            )

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("membership", "0003_stripe_event_retry_and_park"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="StripeEvent",
                    fields=[
                        ("id", models.CharField(max_length=80, primary_key=True, serialize=False)),
                        ("type", models.CharField(max_length=80)),
                        ("object_id", models.CharField(blank=True, max_length=80)),
                        ("created", models.DateTimeField(help_text="When Stripe created the event.")),
                        ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("processed_at", models.DateTimeField(blank=True, null=True)),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("error", models.TextField(blank=True, help_text="Why the last attempt failed.")),
                        ("next_attempt_at", models.DateTimeField(blank=True, help_text="Not tried again before this time.", null=True)),
                        ("failed_at", models.DateTimeField(blank=True, help_text="When it was given up on, after its last attempt.", null=True)),
                        ("payload", models.JSONField()),
                    ],
                    options={
                        "db_table": "membership_stripeevent",
                        "indexes": [models.Index(fields=["processed_at", "received_at"], name="membership__process_1dba4f_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_type_to("payments"), _content_type_to("membership")),
    ]
