import django.db.models.functions.text
from django.db import migrations, models

NAME_MAX_LENGTH = 40


def rename_duplicates(apps, schema_editor):
    """Before the constraint: of active workspaces sharing a name in an organization (any
    case), the oldest keeps it and the others get " (2)", " (3)", ... so nothing is lost."""
    Workspace = apps.get_model("workspaces", "Workspace")
    active = Workspace.objects.filter(archived_at__isnull=True).order_by(
        "organization_id", "-is_default", "created_at", "id"
    )
    taken: dict[object, set[str]] = {}
    for workspace in active.only("id", "organization_id", "name"):
        names = taken.setdefault(workspace.organization_id, set())
        if workspace.name.lower() not in names:
            names.add(workspace.name.lower())
            continue
        number = 2
        while True:
            suffix = f" ({number})"
            candidate = workspace.name[: NAME_MAX_LENGTH - len(suffix)] + suffix
            if candidate.lower() not in names:
                break
            number += 1
        names.add(candidate.lower())
        Workspace.objects.filter(pk=workspace.pk).update(name=candidate)


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0006_workspace_api_fields"),
    ]

    operations = [
        migrations.RunPython(rename_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="workspace",
            constraint=models.UniqueConstraint(
                models.F("organization"),
                django.db.models.functions.text.Lower("name"),
                condition=models.Q(("archived_at__isnull", True)),
                name="workspace_active_name_unique",
            ),
        ),
    ]
