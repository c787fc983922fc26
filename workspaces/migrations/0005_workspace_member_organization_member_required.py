import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Apart from the backfill, so PostgreSQL has no pending trigger events of its updates
    when the column becomes NOT NULL."""

    dependencies = [
        ("workspaces", "0004_workspace_member_organization_member"),
    ]

    operations = [
        migrations.AlterField(
            model_name="workspacemember",
            name="organization_member",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="workspace_memberships",
                to="accounts.organizationmember",
            ),
        ),
    ]
