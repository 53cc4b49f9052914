from django.db import migrations


def install(apps, schema_editor):
    from audit import triggers

    triggers.install(schema_editor.connection)


def remove(apps, schema_editor):
    from audit import triggers

    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_review_signoff_edit_after")]

    operations = [migrations.RunPython(install, remove)]
