"""Writes about workspaces and workspace members. One transaction each, one audit event each."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import audit, keys
from accounts.audit import Actor
from accounts.models import KeyStatus, Organization, OrganizationMember, User
from accounts.permissions import inherited_workspace_role
from accounts.roles import ASSIGNABLE_WORKSPACE_ROLES, OrgRole, WorkspaceRole
from console import validation
from console.secrets import new_api_secret
from workspaces.models import (
    DEFAULT_WORKSPACE_NAME,
    MAX_ACTIVE_WORKSPACES,
    NAME_MAX_LENGTH,
    ApiKey,
    Workspace,
    WorkspaceColor,
    WorkspaceMember,
)

audit.register_actions(
    {
        "workspace.create": "Workspace created",
        "workspace.update": "Workspace edited",
        "workspace.archive": "Workspace archived",
        "workspace_member.add": "Workspace member added",
        "workspace_member.role_change": "Workspace member role changed",
        "workspace_member.remove": "Workspace member removed",
        "api_key.create": "API key created",
        "api_key.rename": "API key renamed",
        "api_key.status_change": "API key enabled or disabled",
        "api_key.delete": "API key deleted",
    }
)

ROLE_CHOICES_TEXT = ", ".join(role.label for role in ASSIGNABLE_WORKSPACE_ROLES)


def _clean_name(name: str) -> str:
    return validation.clean_name(
        name,
        max_length=NAME_MAX_LENGTH,
        empty_message="Enter a name for the workspace.",
        label="Workspace names",
    )


def _clean_color(color: str) -> str:
    color = (color or "").strip().upper()
    if color not in WorkspaceColor.values:
        raise ValidationError({"display_color": "Choose one of the colours shown."})
    return color


def _clean_role(role: str) -> str:
    if role == WorkspaceRole.BILLING:
        raise ValidationError(
            {"role": "Workspace Billing comes only from the organization's Billing role."}
        )
    if role not in {r.value for r in ASSIGNABLE_WORKSPACE_ROLES}:
        raise ValidationError({"role": f"Choose one of the roles: {ROLE_CHOICES_TEXT}."})
    return role


def ensure_changeable(workspace: Workspace, *, what: str = "changed") -> None:
    """Refuse any change to the Default workspace's details or to an archived workspace."""
    if workspace.is_archived:
        raise ValidationError(f"This workspace is archived and can no longer be {what}.")


def _lock_changeable(workspace: Workspace, *, what: str = "changed") -> Workspace:
    """The workspace re-read under a row lock, refused if archived. Holding the lock until
    commit means archiving (which takes it too) cannot interleave with the change."""
    locked = (
        Workspace.objects.select_for_update().select_related("organization").get(pk=workspace.pk)
    )
    ensure_changeable(locked, what=what)
    return locked


def _ensure_not_default(workspace: Workspace, what: str) -> None:
    if workspace.is_default:
        raise ValidationError(f"The Default workspace cannot be {what}.")


def workspace_create_default(*, organization: Organization, created_by: User | None) -> Workspace:
    """The Default workspace, created with its organization (inside that transaction)."""
    return Workspace.objects.create(
        organization=organization,
        name=DEFAULT_WORKSPACE_NAME,
        display_color=WorkspaceColor.SLATE,
        is_default=True,
        created_by=created_by,
    )


@transaction.atomic
def workspace_create(
    *, actor: Actor, organization: Organization, name: str, display_color: str
) -> Workspace:
    name = _clean_name(name)
    display_color = _clean_color(display_color)
    # Serialize creations per organization so the limit holds under concurrent requests.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    active = Workspace.objects.filter(organization=organization).active().count()
    if active >= MAX_ACTIVE_WORKSPACES:
        raise ValidationError(
            f"This organization has reached the limit of {MAX_ACTIVE_WORKSPACES} workspaces. "
            "Archive a workspace you no longer need to add another."
        )
    workspace = Workspace.objects.create(
        organization=organization, name=name, display_color=display_color, created_by=actor.user
    )
    audit.record(
        actor=actor,
        organization=organization,
        action="workspace.create",
        target_type="workspace",
        target_id=workspace.public_id,
        after={"name": name, "display_color": display_color},
    )
    return workspace


@transaction.atomic
def workspace_update(
    *,
    actor: Actor,
    workspace: Workspace,
    name: str | None = None,
    display_color: str | None = None,
) -> Workspace:
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    _ensure_not_default(workspace, "edited")
    ensure_changeable(workspace, what="edited")
    before = audit.snapshot(workspace, ["name", "display_color"])
    if name is not None:
        workspace.name = _clean_name(name)
    if display_color is not None:
        workspace.display_color = _clean_color(display_color)
    after = audit.snapshot(workspace, ["name", "display_color"])
    if after == before:
        return workspace
    workspace.save(update_fields=["name", "display_color"])
    audit.record(
        actor=actor,
        organization=workspace.organization,
        action="workspace.update",
        target_type="workspace",
        target_id=workspace.public_id,
        before=before,
        after=after,
    )
    return workspace


@transaction.atomic
def workspace_archive(*, actor: Actor, workspace: Workspace) -> Workspace:
    """Archive a workspace and all its API keys, in one transaction. Irreversible."""
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    _ensure_not_default(workspace, "archived")
    if workspace.is_archived:
        raise ValidationError("This workspace is already archived.")
    workspace.archived_at = timezone.now()
    workspace.active_key_count = 0
    workspace.save(update_fields=["archived_at", "active_key_count"])
    archived_keys = (
        ApiKey.objects.filter(workspace=workspace)
        .exclude(status=KeyStatus.ARCHIVED)
        .update(status=KeyStatus.ARCHIVED)
    )
    details = {"archived_at": workspace.archived_at.isoformat(), "archived_api_keys": archived_keys}
    audit.record(
        actor=actor,
        organization=workspace.organization,
        action="workspace.archive",
        target_type="workspace",
        target_id=workspace.public_id,
        before={"archived_at": None},
        after=details,
    )
    return workspace


def _org_member(workspace: Workspace, user: User) -> OrganizationMember:
    member = OrganizationMember.objects.filter(
        organization_id=workspace.organization_id, user=user
    ).first()
    if member is None:
        raise ValidationError({"user": "Only members of this organization can be added."})
    return member


def _ensure_role_allowed(org_role: str, role: str) -> None:
    """Inherited roles cannot be lowered; billing members can only be raised to admin."""
    inherited = inherited_workspace_role(org_role)
    if inherited == WorkspaceRole.ADMIN:
        raise ValidationError(
            {"role": "Organization admins are Workspace Admin of every workspace already."}
        )
    if inherited == WorkspaceRole.BILLING and role != WorkspaceRole.ADMIN:
        raise ValidationError(
            {
                "role": "Billing members keep Workspace Billing; "
                "they can only be made Workspace Admin."
            }
        )


@transaction.atomic
def workspace_member_add(
    *, actor: Actor, workspace: Workspace, user: User, role: str
) -> WorkspaceMember:
    workspace = _lock_changeable(workspace)
    role = _clean_role(role)
    org_member = _org_member(workspace, user)
    _ensure_role_allowed(org_member.role, role)
    if WorkspaceMember.objects.filter(workspace=workspace, user=user).exists():
        raise ValidationError({"user": f"{user.email} is already a member of this workspace."})
    membership = WorkspaceMember.objects.create(workspace=workspace, user=user, role=role)
    audit.record(
        actor=actor,
        organization=workspace.organization,
        action="workspace_member.add",
        target_type="workspace_member",
        target_id=f"{workspace.public_id}:{user.public_id}",
        after={"email": user.email, "role": role},
    )
    return membership


def _explicit_membership(workspace: Workspace, user: User) -> WorkspaceMember:
    membership = (
        WorkspaceMember.objects.select_for_update().filter(workspace=workspace, user=user).first()
    )
    if membership is None:
        org_member = _org_member(workspace, user)
        if org_member.role in (OrgRole.ADMIN, OrgRole.BILLING):
            raise ValidationError(
                "This membership is inherited from the organization role. "
                "Change the organization role first."
            )
        raise ValidationError(f"{user.email} is not a member of this workspace.")
    return membership


@transaction.atomic
def workspace_member_change_role(
    *, actor: Actor, workspace: Workspace, user: User, role: str
) -> WorkspaceMember:
    workspace = _lock_changeable(workspace)
    role = _clean_role(role)
    membership = _explicit_membership(workspace, user)
    _ensure_role_allowed(_org_member(workspace, user).role, role)
    if membership.role == role:
        return membership
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        actor=actor,
        organization=workspace.organization,
        action="workspace_member.role_change",
        target_type="workspace_member",
        target_id=f"{workspace.public_id}:{user.public_id}",
        before={"role": before},
        after={"role": role},
    )
    return membership


@transaction.atomic
def workspace_member_remove(*, actor: Actor, workspace: Workspace, user: User) -> None:
    workspace = _lock_changeable(workspace)
    membership = _explicit_membership(workspace, user)
    org_member = _org_member(workspace, user)
    if inherited_workspace_role(org_member.role) == WorkspaceRole.ADMIN:
        raise ValidationError(
            "Organization admins are members of every workspace and cannot be removed."
        )
    audit.record(
        actor=actor,
        organization=workspace.organization,
        action="workspace_member.remove",
        target_type="workspace_member",
        target_id=f"{workspace.public_id}:{user.public_id}",
        before={"email": user.email, "role": membership.role},
    )
    membership.delete()


def memberships_remove_for_user(*, organization: Organization, user: User) -> None:
    """Drop a departing organization member's workspace memberships (inside the caller's
    transaction; the caller records the event)."""
    WorkspaceMember.objects.filter(workspace__organization=organization, user=user).delete()


# -- API keys -----------------------------------------------------------------------------

API_KEY_PREFIX = "sk-ant-api03-"


@transaction.atomic
def api_key_create(
    *, actor: Actor, workspace: Workspace, name: str, expires_at=None
) -> tuple[ApiKey, str]:
    """A new API key in `workspace` (for good). Returns the key and its secret, which is
    never stored or available again."""
    workspace = _lock_changeable(workspace, what="given new API keys")
    name = keys.clean_name(name)
    expires_at = keys.clean_expiry(expires_at)
    secret, hint, digest = new_api_secret(API_KEY_PREFIX)
    key = ApiKey.objects.create(
        organization_id=workspace.organization_id,
        workspace=workspace,
        name=name,
        hint=hint,
        secret_hash=digest,
        created_by=actor.user,
        expires_at=expires_at,
    )
    _count_active(workspace, +1)
    audit.record(
        actor=actor,
        organization=workspace.organization,
        action="api_key.create",
        target_type="api_key",
        target_id=key.public_id,
        after={
            "name": name,
            "hint": hint,
            "workspace": workspace.public_id,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return key, secret


def _count_active(workspace: Workspace, change: int) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(
        active_key_count=F("active_key_count") + change
    )


def _locked(key: ApiKey) -> ApiKey:
    locked = (
        ApiKey.objects.select_for_update().select_related("workspace__organization").get(pk=key.pk)
    )
    ensure_changeable(locked.workspace)
    return locked


@transaction.atomic
def api_key_rename(*, actor: Actor, key: ApiKey, name: str) -> ApiKey:
    key = _locked(key)
    keys.rename(actor, key, name, organization=key.workspace.organization, target_type="api_key")
    return key


@transaction.atomic
def api_key_set_status(*, actor: Actor, key: ApiKey, status: str) -> ApiKey:
    """Disable (inactive) or enable (active) a key. Deleted and expired keys refuse."""
    key = _locked(key)
    if keys.set_status(
        actor, key, status, organization=key.workspace.organization, target_type="api_key"
    ):
        _count_active(key.workspace, +1 if status == KeyStatus.ACTIVE else -1)
    return key


@transaction.atomic
def api_key_delete(*, actor: Actor, key: ApiKey) -> ApiKey:
    """Delete a key for good: it is archived, never usable again; its usage history stays."""
    key = _locked(key)
    before = keys.delete(actor, key, organization=key.workspace.organization, target_type="api_key")
    if before == KeyStatus.ACTIVE:
        _count_active(key.workspace, -1)
    return key


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The active, unexpired key for `secret` in a workspace that is not archived, else None.

    One indexed lookup (by the secret's keyed hash, joined to its workspace).
    """
    key = keys.authenticate(
        ApiKey.objects.select_related("workspace"), secret, prefix=API_KEY_PREFIX
    )
    if key is None or key.workspace.is_archived:
        return None
    return key


# Notices before a key expires, each sent once: (field that records it, how long before).
EXPIRY_NOTICES = (
    ("expiry_notice_7d_sent_at", timedelta(days=7)),
    ("expiry_notice_1d_sent_at", timedelta(days=1)),
)


def _send_expiry_notice(key: ApiKey, left: timedelta) -> None:
    if key.created_by is None or not key.created_by.email:
        return
    context = {
        "key": key,
        "days": max(1, round(left.total_seconds() / 86400)),
        "url": settings.SITE_URL
        + reverse("workspaces:workspace_keys", args=[key.workspace.public_id]),
    }
    send_mail(
        subject=f"Your API key “{key.name}” expires soon",
        message=render_to_string("workspaces/email/key_expiring.txt", context),
        from_email=None,
        recipient_list=[key.created_by.email],
    )


def api_key_expiry_notices_send() -> int:
    """E-mail each active key's creator 7 days and 1 day before the key expires.

    Each notice is claimed with a conditional UPDATE before it is sent, so concurrent runs
    never send one twice. A notice whose moment passed before the key existed (a key made
    to last 3 days gets no 7-day notice) is not sent. Returns how many were sent.
    """
    now = timezone.now()
    sent = 0
    for field, before in EXPIRY_NOTICES:
        due = ApiKey.objects.filter(
            status=KeyStatus.ACTIVE,
            workspace__archived_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=now + before,
            created_at__lt=F("expires_at") - before,
            **{f"{field}__isnull": True},
        ).select_related("created_by", "workspace")
        for key in due:
            claimed = ApiKey.objects.filter(pk=key.pk, **{f"{field}__isnull": True}).update(
                **{field: now}
            )
            if claimed:
                _send_expiry_notice(key, key.expires_at - now)
                sent += 1
    return sent
