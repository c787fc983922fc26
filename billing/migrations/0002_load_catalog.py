"""Load the model catalog, prices and usage tiers (public figures; staff edit them later)."""

from django.db import migrations

from billing.catalog import load_catalog


def load(apps, schema_editor):
    load_catalog(apps)


def unload(apps, schema_editor):
    for name in ("TierLimit", "UsageTier", "Model", "ModelGroup"):
        apps.get_model("billing", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_catalog_limits_usage")]
    operations = [migrations.RunPython(load, unload)]
