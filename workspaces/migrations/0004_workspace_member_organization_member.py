import django.db.models.deletion
from django.db import migrations, models


def link_to_organization_members(apps, schema_editor):
    """Tie each workspace membership to its user's membership of the organization; one left
    behind by someone who has since left the organization goes, as it would have then."""
    WorkspaceMember = apps.get_model("workspaces", "WorkspaceMember")
    OrganizationMember = apps.get_model("accounts", "OrganizationMember")
    for membership in WorkspaceMember.objects.select_related("workspace"):
        organization_member = OrganizationMember.objects.filter(
            organization_id=membership.workspace.organization_id, user_id=membership.user_id
        ).first()
        if organization_member is None:
            membership.delete()
        else:
            membership.organization_member = organization_member
            membership.save(update_fields=["organization_member"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_adminapikey"),
        ("workspaces", "0003_workspace_active_key_count"),
    ]

    operations = [
        migrations.AddField(
            model_name="workspacemember",
            name="organization_member",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="workspace_memberships",
                to="accounts.organizationmember",
            ),
        ),
        migrations.RunPython(link_to_organization_members, migrations.RunPython.noop),
    ]
