# StripeEvent now lives in payments (payments 0001 took it over in Django's state). Its table,
# `membership_stripeevent`, and its rows stay where they are: only the state changes here.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("membership", "0003_stripe_event_retry_and_park"),
        ("payments", "0001_stripe_event_from_membership"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="StripeEvent")],
            database_operations=[],
        ),
    ]
