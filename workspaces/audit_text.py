"""How workspace, workspace member and API key actions read in the audit log, and how
workspaces, memberships and API keys are named there (see `accounts.audit`)."""

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Q, Value
from django.urls import reverse
from django.utils.http import urlencode

from accounts import audit
from accounts.audit_text import deleted, disabled, enabled, label, quoted, renamed
from accounts.models import KeyStatus, User
from accounts.roles import WorkspaceRole
from accounts.templatetags.times import full_time
from workspaces.models import ApiKey, InferenceGeo, Workspace, WorkspaceColor


def _colour(value: Any) -> str:
    try:
        return str(WorkspaceColor(value).label)
    except ValueError:
        return str(value)


def _geos(value: Any) -> str:
    if value is None:
        return "any region"
    return ", ".join(label_of_geo(geo) for geo in value) or "none"


def label_of_geo(value: Any) -> str:
    try:
        return str(InferenceGeo(value).label)
    except ValueError:
        return str(value)


def _edited(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Each field the edit changed, in words."""
    changes = []
    for field in after:
        old, new = before.get(field), after[field]
        if field == "name":
            changes.append(renamed(before, after))
        elif field == "display_color":
            changes.append(f"Colour changed from {_colour(old)} to {_colour(new)}")
        elif field == "tags":
            changes.append("Tags changed")
        elif field == "allowed_inference_geos":
            changes.append(f"Inference regions changed from {_geos(old)} to {_geos(new)}")
        elif field == "default_inference_geo":
            changes.append(
                f"Default inference region changed from {label_of_geo(old)} to {label_of_geo(new)}"
            )
        elif field == "external_key_id":
            changes.append(f"External key ID set to {new}")
        elif field == "user_profile_id":
            changes.append(f"User profile ID set to {new}")
        else:
            changes.append(f"{field.replace('_', ' ').capitalize()} changed")
    return "; ".join(changes) or "Edited"


def _archived(before: dict[str, Any], after: dict[str, Any]) -> str:
    keys = after.get("archived_api_keys", 0)
    if not keys:
        return "Archived"
    return f"Archived, with its {keys} API key{'s' if keys != 1 else ''}"


def _key_created(before: dict[str, Any], after: dict[str, Any]) -> str:
    expiry = after.get("expires_at")
    ending = f"expires {full_time(datetime.fromisoformat(expiry))}" if expiry else "never expires"
    return f"Created {quoted(after['name'])} ({after['hint']}); {ending}"


def _role(value: str) -> str:
    return label(WorkspaceRole, value)


audit.register_descriptions(
    {
        "workspace.create": lambda b, a: f"Created {quoted(a['name'])}",
        "workspace.edit": _edited,
        "workspace.archive": _archived,
        "workspace_member.add": lambda b, a: f"Added {a['email']} as {_role(a['role'])}",
        "workspace_member.change_role": lambda b, a: (
            f"Role changed from {_role(b['role'])} to {_role(a['role'])}"
        ),
        "workspace_member.remove": lambda b, a: f"Removed {b['email']} ({_role(b['role'])})",
        "api_key.create": _key_created,
        "api_key.rename": renamed,
        "api_key.disable": disabled,
        "api_key.enable": enabled,
        "api_key.delete": deleted,
    }
)


def _workspaces(organization_id: uuid.UUID, ids: set[str]) -> dict[str, audit.TargetName]:
    found = Workspace.objects.filter(organization_id=organization_id, public_id__in=ids)
    return {
        public_id: audit.TargetName(name, reverse("workspaces:workspace_detail", args=[public_id]))
        for public_id, name in found.values_list("public_id", "name")
    }


def _workspaces_named(organization_id: uuid.UUID, text: str) -> Q:
    return Q(
        target_id__in=Workspace.objects.filter(
            organization_id=organization_id, name__icontains=text
        ).values("public_id")
    )


def _memberships(organization_id: uuid.UUID, ids: set[str]) -> dict[str, audit.TargetName]:
    """Workspace memberships ("wrkspc_…:user_…"), named by person and workspace; linked to
    the workspace's Members tab while both still exist."""
    pairs = [target_id.split(":", 1) for target_id in ids if target_id.count(":") == 1]
    # One query for both kinds of name (their public ids never collide: they are prefixed).
    workspaces = (
        Workspace.objects.filter(
            organization_id=organization_id, public_id__in={w for w, _ in pairs}
        )
        .values_list("public_id", "name", Value(""))
        .order_by()
    )
    users = (
        User.objects.filter(public_id__in={u for _, u in pairs})
        .values_list("public_id", "name", "email")
        .order_by()
    )
    found = {
        public_id: (name, email) for public_id, name, email in workspaces.union(users).order_by()
    }
    people = {
        public_id: f"{name} ({email})" if name else email
        for public_id, (name, email) in found.items()
        if email
    }
    workspaces_named = {public_id: name for public_id, (name, email) in found.items() if not email}
    names = {}
    for workspace_id, user_id in pairs:
        if workspace_id in workspaces_named and user_id in people:
            names[f"{workspace_id}:{user_id}"] = audit.TargetName(
                f"{people[user_id]} in {workspaces_named[workspace_id]}",
                reverse("workspaces:workspace_members", args=[workspace_id]),
            )
    return names


def _memberships_named(organization_id: uuid.UUID, text: str) -> Q:
    workspaces = Workspace.objects.filter(organization_id=organization_id, name__icontains=text)
    people = User.objects.filter(
        Q(name__icontains=text) | Q(email__icontains=text),
        memberships__organization_id=organization_id,
    )
    condition = Q()
    # Memberships' ids start with the workspace's id and end with the person's.
    for public_id in workspaces.values_list("public_id", flat=True)[:50]:
        condition |= Q(target_id__startswith=f"{public_id}:")
    for public_id in people.values_list("public_id", flat=True)[:50]:
        condition |= Q(target_id__endswith=f":{public_id}")
    return condition if condition else Q(pk__in=[])


def _api_keys(organization_id: uuid.UUID, ids: set[str]) -> dict[str, audit.TargetName]:
    """Keys by name, linked to their workspace's API Keys tab (searched for the key)."""
    keys = ApiKey.objects.filter(organization_id=organization_id, public_id__in=ids)
    names = {}
    for public_id, name, status, workspace_id in keys.values_list(
        "public_id", "name", "status", "workspace__public_id"
    ):
        query = {"q": name[:100], **({"deleted": "1"} if status == KeyStatus.ARCHIVED else {})}
        url = f"{reverse('workspaces:workspace_keys', args=[workspace_id])}?{urlencode(query)}"
        names[public_id] = audit.TargetName(f"API key {quoted(name)}", url)
    return names


def _api_keys_named(organization_id: uuid.UUID, text: str) -> Q:
    return Q(
        target_id__in=ApiKey.objects.filter(
            organization_id=organization_id, name__icontains=text
        ).values("public_id")
    )


audit.register_target_namers(
    {
        "workspace": audit.TargetNamer(_workspaces, _workspaces_named),
        "workspace_member": audit.TargetNamer(_memberships, _memberships_named),
        "api_key": audit.TargetNamer(_api_keys, _api_keys_named),
    }
)
