"""Writes about workspaces, their members and API keys, and creating an organization (which
makes its Default workspace). One transaction each, one audit event each."""

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import audit, keys
from accounts import services as account_services
from accounts.audit import Actor
from accounts.models import KeyStatus, Organization, OrganizationMember, User
from accounts.roles import ASSIGNABLE_WORKSPACE_ROLES, INHERITING_ORG_ROLES, OrgRole, WorkspaceRole
from console import validation
from console.secrets import new_api_secret
from console.validation import check_text
from workspaces.access import ensure_state_allows, inherited_workspace_role
from workspaces.models import (
    DEFAULT_WORKSPACE_NAME,
    HEX_COLOR,
    MAX_ACTIVE_WORKSPACES,
    NAME_MAX_LENGTH,
    ROUTABLE_INFERENCE_GEOS,
    ApiKey,
    InferenceGeo,
    Workspace,
    WorkspaceColor,
    WorkspaceGeo,
    WorkspaceMember,
)

logger = logging.getLogger(__name__)

audit.register_actions(
    {
        "workspace.create": "Workspace created",
        "workspace.edit": "Workspace edited",
        "workspace.archive": "Workspace archived",
        "workspace_member.add": "Workspace member added",
        "workspace_member.change_role": "Workspace member role changed",
        "workspace_member.remove": "Workspace member removed",
        "api_key.create": "API key created",
        "api_key.rename": "API key renamed",
        "api_key.disable": "API key disabled",
        "api_key.enable": "API key enabled",
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
    try:
        HEX_COLOR(color)
    except ValidationError as error:
        raise ValidationError({"display_color": error}) from None
    return color


MAX_TAGS = 50
TAG_KEY_MAX_LENGTH = 64
TAG_VALUE_MAX_LENGTH = 256


def _clean_tags(tags: dict) -> dict[str, str]:
    if not isinstance(tags, dict) or len(tags) > MAX_TAGS:
        raise ValidationError({"tags": f"Tags are at most {MAX_TAGS} names with text values."})
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValidationError({"tags": "Tag names and values are text."})
        check_text(key, field="tags")
        check_text(value, field="tags")
        if not 1 <= len(key) <= TAG_KEY_MAX_LENGTH or len(value) > TAG_VALUE_MAX_LENGTH:
            raise ValidationError(
                {
                    "tags": f"Tag names have 1 to {TAG_KEY_MAX_LENGTH} characters, values at "
                    f"most {TAG_VALUE_MAX_LENGTH}."
                }
            )
        if key.lower().startswith("anthropic"):
            raise ValidationError({"tags": f"Tag names cannot begin with “anthropic” ({key})."})
    return dict(tags)


def _merge_tags(current: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    """Tags after an update: a None value removes that name, others are set."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return _clean_tags(merged)


UNRESTRICTED = "unrestricted"


def _clean_inference_geos(
    allowed: list[str] | str | None, default: str
) -> tuple[list[str] | None, str]:
    """Allowed geos (None: any) and the default, which must be allowed."""
    if default not in ROUTABLE_INFERENCE_GEOS:
        raise ValidationError({"default_inference_geo": "Choose global or us."})
    if allowed is None or allowed == UNRESTRICTED:
        return None, default
    if (
        not isinstance(allowed, list)
        or not allowed
        or any(geo not in ROUTABLE_INFERENCE_GEOS for geo in allowed)
    ):
        raise ValidationError(
            {"allowed_inference_geos": "List one or more of global and us, or unrestricted."}
        )
    allowed = sorted(set(allowed))
    if default not in allowed:
        raise ValidationError(
            {
                "default_inference_geo": f"The default geo must be one of the allowed ({', '.join(allowed)})."
            }
        )
    return allowed, default


def _clean_reference(value: str, field: str) -> str:
    value = check_text((value or "").strip(), field=field)
    if not value or len(value) > 200:
        raise ValidationError({field: "Give an id of 1 to 200 characters."})
    return value


def _clean_role(role: str) -> str:
    if role == WorkspaceRole.BILLING:
        raise ValidationError(
            {"role": "Workspace Billing comes only from the organization's Billing role."}
        )
    if role not in {r.value for r in ASSIGNABLE_WORKSPACE_ROLES}:
        raise ValidationError({"role": f"Choose one of the roles: {ROLE_CHOICES_TEXT}."})
    return role


def lock_workspace_for(capability: str, workspace: Workspace) -> Workspace:
    """The workspace re-read under a row lock, refused when its state forbids `capability`
    now (archived, or the Default workspace). Holding the lock until commit means archiving
    (which takes it too) cannot interleave with the change."""
    locked = (
        Workspace.objects.select_for_update().select_related("organization").get(pk=workspace.pk)
    )
    ensure_state_allows(capability, locked)
    return locked


def _ensure_name_free(
    organization_id: uuid.UUID, name: str, *, other_than: Workspace | None = None
) -> None:
    """Refuse a name that an active workspace of the organization already has, whatever its
    case: two "Production" workspaces (a double-clicked Create, a script run twice) would be
    told apart by nobody. Archived workspaces free their name."""
    taken = Workspace.objects.filter(organization_id=organization_id, name__iexact=name).active()
    if other_than is not None:
        taken = taken.exclude(pk=other_than.pk)
    if taken.exists():
        raise _name_taken(name)


def _name_taken(name: str) -> ValidationError:
    return ValidationError(
        {
            "name": ValidationError(
                f"There is already a workspace named “{name}” in this organization. "
                "Choose another name.",
                code="workspace_name_taken",
            )
        }
    )


def _save_named(workspace: Workspace, *, update_fields: list[str] | None = None) -> None:
    """Save, turning the database's refusal of a taken name (two requests that both passed
    `_ensure_name_free` at once) into the same message."""
    try:
        with transaction.atomic():
            workspace.save(update_fields=update_fields)
    except IntegrityError:
        if (
            Workspace.objects.filter(
                organization_id=workspace.organization_id, name__iexact=workspace.name
            )
            .active()
            .exclude(pk=workspace.pk)
            .exists()
        ):
            raise _name_taken(workspace.name) from None
        raise


@transaction.atomic
def organization_create(
    *,
    actor: Actor,
    name: str,
    admin_email: str,
    admin_password: str | None = None,
    admin_name: str = "",
) -> Organization:
    """Create an organization with its first admin (a new or an existing user) and its
    Default workspace."""
    name = account_services.clean_organization_name(name)
    admin_email = account_services.clean_email(admin_email, field="admin_email")
    organization = Organization.objects.create(name=name)
    user = User.objects.filter(email=admin_email).first()
    if user is None:
        user = User.objects.create_user(admin_email, admin_password, name=admin_name.strip())
    OrganizationMember.objects.create(organization=organization, user=user, role=OrgRole.ADMIN)
    Workspace.objects.create(
        organization=organization,
        name=DEFAULT_WORKSPACE_NAME,
        display_color=WorkspaceColor.SLATE,
        is_default=True,
        created_by=user,
    )
    audit.record(
        actor,
        "organization.create",
        target=organization,
        after={"name": name, "admin": admin_email},
    )
    return organization


# What an edit can change, as the audit trail records it.
EDITABLE_FIELDS = [
    "name",
    "display_color",
    "tags",
    "allowed_inference_geos",
    "default_inference_geo",
    "external_key_id",
    "user_profile_id",
]


@transaction.atomic
def workspace_create(
    *,
    actor: Actor,
    organization: Organization,
    name: str,
    display_color: str | None = None,
    tags: dict[str, str] | None = None,
    allowed_inference_geos: list[str] | str | None = None,
    default_inference_geo: str | None = None,
    workspace_geo: str | None = None,
    external_key_id: str | None = None,
    user_profile_id: str | None = None,
) -> Workspace:
    """A new workspace, by default in the palette's Clay. Its data residency defaults to
    data in the US and inference anywhere, by default global."""
    name = _clean_name(name)
    display_color = _clean_color(display_color or WorkspaceColor.CLAY)
    allowed, default_geo = _clean_inference_geos(
        allowed_inference_geos, default_inference_geo or InferenceGeo.GLOBAL
    )
    if workspace_geo not in (None, *WorkspaceGeo.values):
        raise ValidationError({"workspace_geo": "Workspaces store their data in the us geo."})
    workspace = Workspace(
        organization=organization,
        name=name,
        display_color=display_color,
        tags=_clean_tags(tags or {}),
        allowed_inference_geos=allowed,
        default_inference_geo=default_geo,
        external_key_id=_clean_reference(external_key_id, "external_key_id")
        if external_key_id is not None
        else "",
        user_profile_id=_clean_reference(user_profile_id, "user_profile_id")
        if user_profile_id is not None
        else "",
        created_by=actor.user,
    )
    # Serialize creations per organization so the limit holds under concurrent requests.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    active = Workspace.objects.filter(organization=organization).active().count()
    if active >= MAX_ACTIVE_WORKSPACES:
        raise ValidationError(
            f"This organization has reached the limit of {MAX_ACTIVE_WORKSPACES} workspaces. "
            "Archive a workspace you no longer need to add another.",
            code="workspace_limit_exceeded",
        )
    _ensure_name_free(organization.pk, name)
    _save_named(workspace)
    audit.record(
        actor,
        "workspace.create",
        target=workspace,
        after=audit.snapshot(workspace, EDITABLE_FIELDS),
    )
    return workspace


@transaction.atomic
def workspace_edit(
    *,
    actor: Actor,
    workspace: Workspace,
    name: str | None = None,
    display_color: str | None = None,
    tags: dict[str, str | None] | None = None,
    allowed_inference_geos: list[str] | str | None = None,
    default_inference_geo: str | None = None,
    external_key_id: str | None = None,
    user_profile_id: str | None = None,
) -> Workspace:
    """Change what is given (None: unchanged), all or nothing. In `tags` a None value
    removes that tag. An external key or user profile, once set, stays."""
    workspace = lock_workspace_for("workspace.edit", workspace)
    before = audit.snapshot(workspace, EDITABLE_FIELDS)
    if name is not None:
        workspace.name = _clean_name(name)
    if display_color is not None:
        workspace.display_color = _clean_color(display_color)
    if tags is not None:
        workspace.tags = _merge_tags(workspace.tags, tags)
    if allowed_inference_geos is not None or default_inference_geo is not None:
        workspace.allowed_inference_geos, workspace.default_inference_geo = _clean_inference_geos(
            allowed_inference_geos
            if allowed_inference_geos is not None
            else workspace.allowed_inference_geos,
            default_inference_geo or workspace.default_inference_geo,
        )
    for field, value in (
        ("external_key_id", external_key_id),
        ("user_profile_id", user_profile_id),
    ):
        if value is None:
            continue
        value = _clean_reference(value, field)
        current = getattr(workspace, field)
        if current and current != value:
            raise ValidationError({field: f"{field} is set once and cannot be changed."})
        setattr(workspace, field, value)
    after = audit.snapshot(workspace, EDITABLE_FIELDS)
    changed = [name for name in EDITABLE_FIELDS if after[name] != before[name]]
    if not changed:
        return workspace
    if "name" in changed:
        _ensure_name_free(workspace.organization_id, workspace.name, other_than=workspace)
    _save_named(workspace, update_fields=changed)
    before = {name: before[name] for name in changed}
    after = {name: after[name] for name in changed}
    audit.record(
        actor,
        "workspace.edit",
        target=workspace,
        before=before,
        after=after,
    )
    return workspace


@transaction.atomic
def workspace_archive(*, actor: Actor, workspace: Workspace) -> Workspace:
    """Archive a workspace and all its API keys, in one transaction. Irreversible."""
    workspace = lock_workspace_for("workspace.archive", workspace)
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
        actor,
        "workspace.archive",
        target=workspace,
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
    workspace = lock_workspace_for("members.manage", workspace)
    role = _clean_role(role)
    org_member = _org_member(workspace, user)
    _ensure_role_allowed(org_member.role, role)
    if WorkspaceMember.objects.filter(workspace=workspace, user=user).exists():
        raise ValidationError(
            {
                "user": ValidationError(
                    f"{user.email} is already a member of this workspace.", code="already_member"
                )
            }
        )
    membership = WorkspaceMember.objects.create(
        workspace=workspace, user=user, organization_member=org_member, role=role
    )
    audit.record(
        actor,
        "workspace_member.add",
        target=membership,
        after={"email": user.email, "role": role},
    )
    return membership


def _explicit_membership(workspace: Workspace, user: User) -> WorkspaceMember:
    membership = (
        WorkspaceMember.objects.select_for_update().filter(workspace=workspace, user=user).first()
    )
    if membership is None:
        org_member = _org_member(workspace, user)
        if org_member.role in INHERITING_ORG_ROLES:
            raise ValidationError(
                "This membership is inherited from the organization role. "
                "Change the organization role first."
            )
        raise ValidationError(f"{user.email} is not a member of this workspace.")
    membership.workspace, membership.user = workspace, user
    return membership


@transaction.atomic
def workspace_member_change_role(
    *, actor: Actor, workspace: Workspace, user: User, role: str
) -> WorkspaceMember:
    workspace = lock_workspace_for("members.manage", workspace)
    role = _clean_role(role)
    membership = _explicit_membership(workspace, user)
    _ensure_role_allowed(_org_member(workspace, user).role, role)
    if membership.role == role:
        return membership
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        actor,
        "workspace_member.change_role",
        target=membership,
        before={"role": before},
        after={"role": role},
    )
    return membership


@transaction.atomic
def workspace_member_remove(*, actor: Actor, workspace: Workspace, user: User) -> None:
    workspace = lock_workspace_for("members.manage", workspace)
    membership = _explicit_membership(workspace, user)
    org_member = _org_member(workspace, user)
    if inherited_workspace_role(org_member.role) == WorkspaceRole.ADMIN:
        raise ValidationError(
            "Organization admins are members of every workspace and cannot be removed."
        )
    audit.record(
        actor,
        "workspace_member.remove",
        target=membership,
        before={"email": user.email, "role": membership.role},
    )
    membership.delete()


# -- API keys -----------------------------------------------------------------------------

API_KEY_PREFIX = "sk-ant-api03-"


@transaction.atomic
def api_key_create(
    *, actor: Actor, workspace: Workspace, name: str, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new API key in `workspace` (for good). Returns the key and its secret, which is
    never stored or available again."""
    workspace = lock_workspace_for("keys.create", workspace)
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
        actor,
        "api_key.create",
        target=key,
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
    ensure_state_allows("keys.manage", locked.workspace)
    return locked


@transaction.atomic
def api_key_rename(*, actor: Actor, key: ApiKey, name: str) -> ApiKey:
    key = _locked(key)
    keys.rename(actor, key, name, action="api_key.rename")
    return key


def _api_key_set_status(actor: Actor, key: ApiKey, status: str, *, action: str) -> ApiKey:
    key = _locked(key)
    if keys.set_status(actor, key, status, action=action):
        _count_active(key.workspace, +1 if status == KeyStatus.ACTIVE else -1)
    return key


@transaction.atomic
def api_key_disable(*, actor: Actor, key: ApiKey) -> ApiKey:
    """Disable a key: it is refused until enabled again. Deleted and expired keys refuse."""
    return _api_key_set_status(actor, key, KeyStatus.INACTIVE, action="api_key.disable")


@transaction.atomic
def api_key_enable(*, actor: Actor, key: ApiKey) -> ApiKey:
    """Enable a disabled key again. Deleted and expired keys refuse."""
    return _api_key_set_status(actor, key, KeyStatus.ACTIVE, action="api_key.enable")


@transaction.atomic
def api_key_update(
    *, actor: Actor, key: ApiKey, name: str | None = None, status: str | None = None
) -> ApiKey:
    """Rename and enable, disable or delete (archived) a key in one go: all of it or, when
    any part is refused, none of it."""
    if status is not None and status not in (
        KeyStatus.ACTIVE,
        KeyStatus.INACTIVE,
        KeyStatus.ARCHIVED,
    ):
        raise ValidationError({"status": "A key can be made active, inactive or archived."})
    if name is not None:
        key = api_key_rename(actor=actor, key=key, name=name)
    if status == KeyStatus.ARCHIVED:
        key = api_key_delete(actor=actor, key=key)
    elif status == KeyStatus.INACTIVE:
        key = api_key_disable(actor=actor, key=key)
    elif status == KeyStatus.ACTIVE:
        key = api_key_enable(actor=actor, key=key)
    return key


@transaction.atomic
def api_key_delete(*, actor: Actor, key: ApiKey) -> ApiKey:
    """Delete a key for good: it is archived, never usable again; its usage history stays."""
    key = _locked(key)
    before = keys.delete(actor, key, action="api_key.delete")
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
        # One line whatever the name holds: a line break in a header is refused.
        subject=" ".join(f"Your API key “{key.name}” expires soon".split()),
        message=render_to_string("workspaces/email/key_expiring.txt", context),
        from_email=None,
        recipient_list=[key.created_by.email],
    )


def api_key_expiry_notices_send() -> int:
    """E-mail each active key's creator 7 days and 1 day before the key expires.

    Each notice is claimed with a conditional UPDATE and sent in the same transaction, so
    concurrent runs never send one twice, and an e-mail that fails rolls its claim back: it
    is logged and sent again on the next run, and the other notices go on. A notice whose
    moment passed before the key existed (a key made to last 3 days gets no 7-day notice) is
    not sent. Returns how many were sent.
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
            try:
                with transaction.atomic():
                    claimed = ApiKey.objects.filter(pk=key.pk, **{f"{field}__isnull": True}).update(
                        **{field: now}
                    )
                    if claimed and key.expires_at is not None:
                        _send_expiry_notice(key, key.expires_at - now)
            except Exception:
                logger.exception("The expiry notice of API key %s could not be sent.", key.pk)
                continue
            sent += claimed
    return sent
