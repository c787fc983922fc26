from django.db import migrations

# Actions renamed so each carries its service's name (`member_change_role` records
# `member.change_role`); the events already recorded take the new names.
RENAMED = {
    "member.role_change": "member.change_role",
    "workspace.update": "workspace.edit",
    "workspace_member.role_change": "workspace_member.change_role",
    "api_key.status_change": "api_key.set_status",
    "admin_key.status_change": "admin_key.set_status",
    "rate_limit.set": "workspace_rate_limit.set",
    "rate_limit.reset": "workspace_rate_limit.reset",
}


def rename_actions(apps, schema_editor):
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    for old, new in RENAMED.items():
        AuditEvent.objects.filter(action=old).update(action=new)
    spend = AuditEvent.objects.filter(action="spend_limit.set")
    spend.filter(target_type="workspace").update(action="workspace_spend_limit.set")
    spend.filter(target_type="organization").update(action="organization_spend_limit.set")


def restore_actions(apps, schema_editor):
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    for old, new in RENAMED.items():
        AuditEvent.objects.filter(action=new).update(action=old)
    AuditEvent.objects.filter(
        action__in=["workspace_spend_limit.set", "organization_spend_limit.set"]
    ).update(action="spend_limit.set")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_audit_event_operator_events"),
    ]

    operations = [migrations.RunPython(rename_actions, restore_actions)]
