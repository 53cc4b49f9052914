from django.db import migrations


def install(apps, schema_editor):
    from lock import triggers

    triggers.install(schema_editor.connection, ("crf_notdone",))


def remove(apps, schema_editor):
    from lock import triggers

    triggers.remove(schema_editor.connection, ("crf_notdone",))


class Migration(migrations.Migration):
    dependencies = [("lock", "0002_held_rows_triggers"), ("crf", "0004_not_done")]

    operations = [migrations.RunPython(install, remove)]
