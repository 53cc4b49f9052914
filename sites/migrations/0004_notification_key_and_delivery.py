from django.db import migrations, models
from django.db.models import F, Value
from django.db.models.functions import Cast, Concat


def _sent_before(apps, schema_editor):
    # Rows from before the key were each their own email, and were sent at commit.
    for name in ("Notification", "HistoricalNotification"):
        apps.get_model("sites", name).objects.update(
            key=Concat(Value("sent/"), Cast("id", models.CharField())), delivered_at=F("sent_at")
        )


class Migration(migrations.Migration):
    dependencies = [("sites", "0003_chief_investigator_role")]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="key",
            field=models.CharField(default="", max_length=200),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="historicalnotification",
            name="key",
            field=models.CharField(default="", max_length=200),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="notification",
            name="delivered_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalnotification",
            name="delivered_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(_sent_before, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                fields=("key", "recipient"), name="notification_once_per_key_and_recipient"
            ),
        ),
    ]
