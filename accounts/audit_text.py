"""How the organization's own actions read in the audit log, and how its people, invites,
Admin keys and the organization itself are named there (see `accounts.audit`)."""

import uuid
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.http import urlencode

from accounts import audit
from accounts.models import (
    AdminApiKey,
    Invite,
    InviteStatus,
    KeyStatus,
    Organization,
    OrganizationMember,
    User,
)
from accounts.roles import OrgRole, WorkspaceRole


def label(choices: type[OrgRole] | type[WorkspaceRole] | type[KeyStatus], value: Any) -> str:
    """A choice's label, or the stored value itself if it is no longer a choice."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def quoted(value: Any) -> str:
    return f"“{value}”"


def renamed(before: dict[str, Any], after: dict[str, Any]) -> str:
    return f"Renamed from {quoted(before['name'])} to {quoted(after['name'])}"


def disabled(before: dict[str, Any], after: dict[str, Any]) -> str:
    return "Disabled"


def enabled(before: dict[str, Any], after: dict[str, Any]) -> str:
    return "Enabled"


def deleted(before: dict[str, Any], after: dict[str, Any]) -> str:
    return "Deleted; permanent"


def _role_change(before: dict[str, Any], after: dict[str, Any]) -> str:
    return f"Role changed from {label(OrgRole, before['role'])} to {label(OrgRole, after['role'])}"


audit.register_descriptions(
    {
        "organization.create": lambda b, a: (
            f"Created {quoted(a['name'])}, with {a['admin']} as its admin"
        ),
        "organization.rename": renamed,
        "member.change_role": _role_change,
        "member.remove": lambda b, a: (
            f"Removed {b['email']} ({label(OrgRole, b['role'])}) from the organization"
        ),
        "user.set_active": lambda b, a: (
            "Account activated again" if a["is_active"] else "Account deactivated"
        ),
        "member.sign_out": lambda b, a: (
            f"Signed {a['email']} out everywhere ({a['sessions_ended']} sessions ended)"
        ),
        "invite.create": lambda b, a: f"Invited {a['email']} as {label(OrgRole, a['role'])}",
        "invite.revoke": lambda b, a: "Revoked the invite; its link no longer works",
        "invite.resend": lambda b, a: (
            f"Sent the invite to {a['email']} again; the earlier link no longer works"
        ),
        "invite.accept": lambda b, a: f"{a['email']} joined as {label(OrgRole, a['role'])}",
        "admin_key.create": lambda b, a: f"Created Admin key {quoted(a['name'])} ({a['hint']})",
        "admin_key.disable": disabled,
        "admin_key.enable": enabled,
        "admin_key.delete": deleted,
        "admin_key.creator_lost": lambda b, a: (
            f"Stopped working: its creator {a['creator']} is no longer an admin"
        ),
        "admin_key.creator_restored": lambda b, a: (
            f"Works again: its creator {a['creator']} is an admin again"
        ),
    }
)


def _organizations(organization_id: uuid.UUID, ids: set[str]) -> dict[str, audit.TargetName]:
    found = Organization.objects.filter(pk=organization_id).values_list("id", "name")
    return {
        str(pk): audit.TargetName(name, reverse("billing:organization"))
        for pk, name in found
        if str(pk) in ids
    }


def _people(organization_id: uuid.UUID, ids: set[str]) -> dict[str, audit.TargetName]:
    """People by their public id, linked to Settings > Members while they are members."""
    people = User.objects.filter(public_id__in=ids).annotate(
        is_member=Exists(
            OrganizationMember.objects.filter(user=OuterRef("pk"), organization_id=organization_id)
        )
    )
    members_url = reverse("workspaces:organization_members")
    names: dict[str, audit.TargetName] = {}
    for person in people.values("public_id", "name", "email", "is_member"):
        text = f"{person['name']} ({person['email']})" if person["name"] else person["email"]
        names[person["public_id"]] = audit.TargetName(
            text, members_url if person["is_member"] else None
        )
    return names


def _people_named(organization_id: uuid.UUID, text: str) -> Q:
    return Q(
        target_id__in=User.objects.filter(
            Q(name__icontains=text) | Q(email__icontains=text),
            memberships__organization_id=organization_id,
        ).values("public_id")
    )


def _invites(organization_id: uuid.UUID, ids: set[str]) -> dict[str, audit.TargetName]:
    members_url = reverse("workspaces:organization_members")
    invites = Invite.objects.filter(organization_id=organization_id, public_id__in=ids)
    return {
        public_id: audit.TargetName(
            f"Invite for {email}", members_url if status == InviteStatus.PENDING else None
        )
        for public_id, email, status in invites.values_list("public_id", "email", "status")
    }


def _invites_named(organization_id: uuid.UUID, text: str) -> Q:
    return Q(
        target_id__in=Invite.objects.filter(
            organization_id=organization_id, email__icontains=text
        ).values("public_id")
    )


def _admin_keys(organization_id: uuid.UUID, ids: set[str]) -> dict[str, audit.TargetName]:
    keys = AdminApiKey.objects.filter(organization_id=organization_id, public_id__in=ids)
    names = {}
    for public_id, name, status in keys.values_list("public_id", "name", "status"):
        url = None
        if status != KeyStatus.ARCHIVED:
            url = f"{reverse('workspaces:admin_key_list')}?{urlencode({'q': name[:100]})}"
        names[public_id] = audit.TargetName(f"Admin key {quoted(name)}", url)
    return names


def _admin_keys_named(organization_id: uuid.UUID, text: str) -> Q:
    return Q(
        target_id__in=AdminApiKey.objects.filter(
            organization_id=organization_id, name__icontains=text
        ).values("public_id")
    )


audit.register_target_namers(
    {
        "organization": audit.TargetNamer(_organizations),
        "user": audit.TargetNamer(_people, _people_named),
        "invite": audit.TargetNamer(_invites, _invites_named),
        "admin_key": audit.TargetNamer(_admin_keys, _admin_keys_named),
    }
)
