"""On PostgreSQL, usage records live in a table partitioned by month of `created_at`.

Old months can then be detached or dropped whole, and reports that filter on time read only
the months they need. A default partition takes rows for months without their own, so an
insert never fails; `billing.usage.ensure_partitions` keeps months ahead created.
"""

from django.db import migrations

TABLE = "billing_usagerecord"
OLD = "billing_usagerecord_unpartitioned"


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    execute = schema_editor.execute
    execute(f'ALTER TABLE "{TABLE}" RENAME TO "{OLD}"')
    execute(
        f'CREATE TABLE "{TABLE}" (LIKE "{OLD}" INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS) '
        'PARTITION BY RANGE ("created_at")'
    )
    execute(f'ALTER TABLE "{TABLE}" ADD PRIMARY KEY ("id", "created_at")')
    for column, target in [
        ("organization_id", "accounts_organization"),
        ("workspace_id", "workspaces_workspace"),
        ("api_key_id", "workspaces_apikey"),
        ("model_id", "billing_model"),
    ]:
        execute(
            f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "usagerecord_{column}_fk" FOREIGN KEY ("{column}") '
            f'REFERENCES "{target}" ("id") DEFERRABLE INITIALLY DEFERRED'
        )
    for column in ["created_at", "request_id", "organization_id", "workspace_id", "api_key_id", "model_id"]:
        execute(f'CREATE INDEX "usagerecord_{column}_idx" ON "{TABLE}" ("{column}")')
    execute(f'CREATE TABLE "{TABLE}_default" PARTITION OF "{TABLE}" DEFAULT')
    execute(f'INSERT INTO "{TABLE}" SELECT * FROM "{OLD}"')
    execute(
        f"SELECT setval(pg_get_serial_sequence('\"{TABLE}\"', 'id'), "
        f'COALESCE((SELECT MAX("id") FROM "{TABLE}"), 0) + 1, false)'
    )
    execute(f'DROP TABLE "{OLD}"')


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_enforcement_rollups")]
    operations = [migrations.RunPython(partition, migrations.RunPython.noop)]
