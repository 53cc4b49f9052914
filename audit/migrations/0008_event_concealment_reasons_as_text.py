from django.db import migrations, models


def triggers_off(apps, schema_editor):
    from audit import triggers

    triggers.remove(schema_editor.connection)


def triggers_on(apps, schema_editor):
    from audit import triggers

    triggers.install(schema_editor.connection)


class Migration(migrations.Migration):
    """Events say what of them would reveal an arm. SQLite adds the column by rebuilding the
    table, which would drop the append-only triggers: they are lifted for the step and put
    back after it (existing rows are copied unchanged; the new column starts empty)."""

    dependencies = [
        ("audit", "0007_crf_event_types"),
    ]

    operations = [
        migrations.RunPython(triggers_off, triggers_on),
        migrations.AddField(
            model_name="auditevent",
            name="conceal",
            field=models.CharField(
                blank=True,
                choices=[
                    ("arm", "the arm among its changes"),
                    ("event", "what it is about (a form that reveals the arm)"),
                ],
                db_default="",
                max_length=5,
            ),
        ),
        migrations.RunPython(triggers_on, triggers_off),
        migrations.AlterField(
            model_name="historicalreviewsignoff",
            name="history_change_reason",
            field=models.TextField(null=True),
        ),
    ]
