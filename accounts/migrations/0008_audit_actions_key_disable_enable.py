from django.db import migrations

# A key's status change is recorded as its service names it, `api_key_disable` as
# `api_key.disable` and `api_key_enable` as `api_key.enable` (Admin keys and gateway tokens
# alike); the events already recorded as `<kind>.set_status` take the name of what they did.
KINDS = ("api_key", "admin_key", "gateway_token")


def split_set_status(apps, schema_editor):
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    for kind in KINDS:
        events = AuditEvent.objects.filter(action=f"{kind}.set_status")
        events.filter(after__status="active").update(action=f"{kind}.enable")
        events.update(action=f"{kind}.disable")


def join_set_status(apps, schema_editor):
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    for kind in KINDS:
        AuditEvent.objects.filter(action__in=[f"{kind}.disable", f"{kind}.enable"]).update(
            action=f"{kind}.set_status"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_outgoing_email"),
    ]

    operations = [migrations.RunPython(split_set_status, join_set_status)]
