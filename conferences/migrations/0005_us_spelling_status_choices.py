"""US spelling for order statuses and the cancel time, choices for refund statuses.

Nothing changes in the database: the stored status values stay ("cancelled" included) and the
column keeps its name, so only Django's picture of the models moves.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("conferences", "0004_attendee_check_in_permission")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField("order", "cancelled_at", "canceled_at"),
                migrations.AlterField(
                    model_name="order",
                    name="canceled_at",
                    field=models.DateTimeField(blank=True, db_column="cancelled_at", null=True),
                ),
            ],
        ),
        migrations.AlterField(
            model_name="order",
            name="status",
            field=models.CharField(
                choices=[
                    ("held", "Awaiting payment"),
                    ("paid", "Confirmed"),
                    ("expired", "Expired"),
                    ("cancelled", "Canceled"),
                ],
                db_index=True,
                default="held",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="refund",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("nothing-to-refund", "Nothing to refund"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("canceled", "Canceled"),
                    ("requires_action", "Requires action"),
                ],
                default="pending",
                max_length=20,
            ),
        ),
    ]
