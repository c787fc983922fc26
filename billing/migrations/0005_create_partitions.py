from django.db import migrations


def create(apps, schema_editor):
    from billing.usage import ensure_partitions

    ensure_partitions()


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_partition_usage_records")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
