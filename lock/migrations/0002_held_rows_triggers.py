from django.db import migrations


def install(apps, schema_editor):
    from lock import triggers

    triggers.install(schema_editor.connection, ("crf_response", "crf_signature", "crf_query"))


def remove(apps, schema_editor):
    from lock import triggers

    triggers.remove(schema_editor.connection, ("crf_response", "crf_signature", "crf_query"))


class Migration(migrations.Migration):
    dependencies = [("lock", "0001_holds")]

    operations = [migrations.RunPython(install, remove)]
