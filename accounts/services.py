"""Writes about organizations, their members, invites and Admin API keys. One transaction
each; every write records an audit event in that transaction.

Creating an organization also makes its Default workspace, so it is
`workspaces.services.organization_create`."""

from collections.abc import Sequence
from datetime import timedelta
from importlib import import_module
from typing import cast
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import audit, keys, outbox, time_zones
from accounts.audit import Actor
from accounts.models import (
    INVITE_LIFETIME_DAYS,
    NAME_MAX_LENGTH,
    AdminApiKey,
    Invite,
    InviteStatus,
    KeyStatus,
    Organization,
    OrganizationMember,
    User,
)
from accounts.roles import OrgRole
from console import validation
from console.secrets import hash_secret, new_api_secret, new_token


def clean_name(name: str, *, field: str = "name", label: str = "Name") -> str:
    """A person's or an organization's name: trimmed, 1 to `NAME_MAX_LENGTH` characters,
    fit for a name (no control characters, no bidirectional overrides)."""
    return validation.clean_name(
        name,
        max_length=NAME_MAX_LENGTH,
        field=field,
        empty_message=f"{label} cannot be empty.",
        label=label,
    )


def clean_organization_name(name: str, *, organization: Organization | None = None) -> str:
    """A name no other organization has (case-insensitively); `organization` is the one
    being renamed."""
    name = clean_name(name)
    others = Organization.objects.filter(name__iexact=name)
    if organization is not None:
        others = others.exclude(pk=organization.pk)
    if others.exists():
        raise ValidationError({"name": f"An organization named “{name}” already exists."})
    return name


def clean_email(email: str, *, field: str = "email") -> str:
    email = (email or "").strip().lower()
    if not email:
        raise ValidationError({field: "Enter an e-mail address."})
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({field: f"“{email[:100]}” is not a valid e-mail address."}) from None
    return email


def _clean_role(role: str, *, field: str = "role") -> OrgRole:
    if role not in OrgRole.values:
        labels = ", ".join(str(label) for label in OrgRole.labels)
        raise ValidationError({field: f"Choose one of the roles: {labels}."})
    return OrgRole(role)


@transaction.atomic
def organization_rename(*, actor: Actor, organization: Organization, name: str) -> Organization:
    name = clean_organization_name(name, organization=organization)
    before = organization.name
    organization.name = name
    organization.save(update_fields=["name"])
    audit.record(
        actor,
        "organization.rename",
        target=organization,
        before={"name": before},
        after={"name": name},
    )
    return organization


def _lock_admins(organization: Organization) -> int:
    """Lock the organization's admin rows and count them, so two concurrent demotions
    cannot both see a second admin and leave none."""
    return len(
        OrganizationMember.objects.select_for_update()
        .filter(organization=organization, role=OrgRole.ADMIN)
        .values_list("pk", flat=True)
    )


@transaction.atomic
def member_change_role(
    *, actor: Actor, member: OrganizationMember, role: str
) -> OrganizationMember:
    role = _clean_role(role)
    if actor.user is not None and member.user_id == actor.user.pk:
        raise ValidationError({"role": "You cannot change your own role."})
    if member.role == role:
        return member
    if member.role == OrgRole.ADMIN and _lock_admins(member.organization) <= 1:
        raise ValidationError(
            {"role": "This is the organization's last admin. Make another member admin first."}
        )
    before = member.role
    member.role = role
    member.save(update_fields=["role"])
    audit.record(
        actor,
        "member.change_role",
        target=member,
        before={"role": before},
        after={"role": role},
    )
    if OrgRole.ADMIN in (before, role) and before != role:
        _admin_keys_follow_creator(actor, member, admin=role == OrgRole.ADMIN)
    return member


def working_admin_keys(member: OrganizationMember) -> list[AdminApiKey]:
    """The Admin keys `member` created that are enabled and unexpired: those their admin
    standing keeps working."""
    now = timezone.now()
    return list(
        AdminApiKey.objects.filter(
            organization_id=member.organization_id,
            created_by_id=member.user_id,
            status=KeyStatus.ACTIVE,
        ).exclude(expires_at__lte=now)
    )


def _admin_keys_follow_creator(
    actor: Actor, member: OrganizationMember, *, admin: bool, why: str = ""
) -> None:
    """An Admin key acts with its creator's standing: record, key by key, that the keys of a
    member who stops (or again becomes) an admin stop (or start again) working."""
    action = "admin_key.creator_restored" if admin else "admin_key.creator_lost"
    after: dict[str, object] = {"creator": member.user.email, "works": admin}
    if why:
        after["why"] = why
    for key in working_admin_keys(member):
        audit.record(actor, action, target=key, after=after)


audit.register_actions({"user.set_active": "Account activated or deactivated"})


@transaction.atomic
def user_set_active(*, actor: Actor, user: User, active: bool) -> User:
    """Deactivate an account (it can no longer sign in) or activate it again. The Admin keys
    it created act with its standing, so they stop or work again with it; each is recorded
    in its organization's trail."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit.record(
        actor,
        "user.set_active",
        target=user,
        before={"is_active": not active},
        after={"is_active": active},
    )
    for member in OrganizationMember.objects.filter(user=user, role=OrgRole.ADMIN).select_related(
        "user"
    ):
        _admin_keys_follow_creator(
            actor, member, admin=active, why="" if active else "account deactivated"
        )
    return user


@transaction.atomic
def member_remove(*, actor: Actor, member: OrganizationMember) -> None:
    """Remove a member from the organization; their workspace memberships go with it."""
    if actor.user is not None and member.user_id == actor.user.pk:
        raise ValidationError("You cannot remove yourself from the organization.")
    members = OrganizationMember.objects.select_for_update().filter(
        organization_id=member.organization_id
    )
    if len(members.values_list("pk", flat=True)) <= 1:
        raise ValidationError(
            "The last member of an organization cannot be removed.",
            code="cannot_remove_last_member",
        )
    if member.role == OrgRole.ADMIN and _lock_admins(member.organization) <= 1:
        raise ValidationError("The organization's last admin cannot be removed.")
    if member.role == OrgRole.ADMIN:
        _admin_keys_follow_creator(actor, member, admin=False)
    audit.record(
        actor,
        "member.remove",
        target=member,
        before={"email": member.user.email, "role": member.role},
    )
    member.delete()


@transaction.atomic
def member_sign_out(*, actor: Actor, member: OrganizationMember) -> OrganizationMember:
    """End every sign-in session of the member, wherever they signed in; they stay a member
    with their role and can sign in again at once. Their API keys keep working."""
    if actor.user is not None and member.user_id == actor.user.pk:
        raise ValidationError(
            "You cannot sign yourself out here; sign out of your own session instead.",
            code="cannot_sign_out_self",
        )
    ended = _end_sessions(member.user)
    audit.record(
        actor,
        "member.sign_out",
        target=member,
        after={"email": member.user.email, "sessions_ended": ended},
    )
    return member


def _end_sessions(user: User) -> int:
    """Delete the user's sessions from the session store; how many there were. The store
    keeps who signed in only inside each session's signed data, so every live session is
    read: signing out is rare, and a sign-in costs a session row either way."""
    engine = import_module(settings.SESSION_ENGINE)
    store = engine.SessionStore
    if not hasattr(store, "get_model_class"):
        raise ValidationError("Console cannot end sessions kept outside its database.")
    user_id = str(user.pk)
    ended = 0
    live = store.get_model_class().objects.filter(expire_date__gt=timezone.now())
    for session in live.iterator():
        if store().decode(session.session_data).get(SESSION_KEY) == user_id:
            store(session_key=session.session_key).delete()
            ended += 1
    return ended


def invite_url(token: str) -> str:
    return settings.SITE_URL + reverse("accounts:invite_accept", args=[token])


def invite_email(invite_id: str, token: str | None) -> EmailMessage | None:
    """The invite's e-mail (`accounts.outbox`), or None once it is no longer pending. Without
    the `token` of the first try (a retry), the invite gets a new link token, in the
    transaction that sends it: the old one was never delivered, and only its hash is kept."""
    invite = (
        Invite.objects.select_for_update(of=("self",))
        .select_related("organization", "invited_by")
        .filter(pk=invite_id)
        .first()
    )
    if invite is None or invite.current_status() != InviteStatus.PENDING:
        return None
    if token is None:
        token = new_token()
        invite.token_hash = hash_secret(token)
        invite.save(update_fields=["token_hash"])
    context = {"invite": invite, "url": invite_url(token), "organization": invite.organization}
    return EmailMessage(
        subject=outbox.one_line(f"You are invited to join {invite.organization.name} on Console"),
        body=render_to_string("accounts/email/invite.txt", context),
        to=[invite.email],
    )


def password_reset_email(user_id: str, _secret: str | None) -> EmailMessage | None:
    """The password reset e-mail (`accounts.outbox`), its link made when it is sent; None
    for an account that cannot sign in with a password."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return None
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    site = urlsplit(settings.SITE_URL)
    context = {"email": user.email, "protocol": site.scheme, "domain": site.netloc, "path": path}
    return EmailMessage(
        subject=outbox.one_line(render_to_string("accounts/email/password_reset_subject.txt")),
        body=render_to_string("accounts/email/password_reset.txt", context),
        to=[user.email],
    )


@transaction.atomic
def invite_create(
    *,
    actor: Actor,
    organization: Organization,
    email: str,
    role: str,
    rbac_group_ids: Sequence[str] = (),
) -> tuple[Invite, str]:
    """Invite `email` with `role`. Returns the invite and the one-time link token.
    Console has no RBAC groups, so an invite can join none (`rbac_group_ids` stays empty).

    The e-mail goes out once the transaction commits, so a rolled-back invite sends nothing;
    if it fails, it is sent again later (`accounts.outbox`), never failing the invite.
    """
    email = clean_email(email)
    role = _clean_role(role)
    if rbac_group_ids:
        raise ValidationError(
            {
                "rbac_group_ids": ValidationError(
                    "Console has no RBAC groups; leave rbac_group_ids empty.",
                    code="rbac_group_not_found",
                )
            }
        )
    # Lock the organization row so two simultaneous invites to one address cannot both pass.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    if OrganizationMember.objects.filter(organization=organization, user__email=email).exists():
        raise ValidationError(
            {
                "email": ValidationError(
                    f"{email} is already a member of this organization.", code="already_member"
                )
            }
        )
    if Invite.objects.filter(organization=organization, email=email).pending().exists():
        raise ValidationError(
            {
                "email": ValidationError(
                    f"{email} already has a pending invite.", code="invite_already_exists"
                )
            }
        )
    token = new_token()
    now = timezone.now()
    invite = Invite.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=hash_secret(token),
        invited_by=actor.user,
        created_at=now,
        expires_at=now + timedelta(days=INVITE_LIFETIME_DAYS),
    )
    audit.record(
        actor,
        "invite.create",
        target=invite,
        after={"email": email, "role": role},
    )
    outbox.send_after_commit(invite_email, invite.pk, secret=token)
    return invite, token


@transaction.atomic
def invite_revoke(*, actor: Actor, invite: Invite) -> Invite:
    status = invite.current_status()
    if status != InviteStatus.PENDING:
        raise ValidationError(
            f"This invite is {InviteStatus(status).label.lower()} and cannot be revoked."
        )
    invite.status = InviteStatus.DELETED
    invite.save(update_fields=["status"])
    audit.record(
        actor,
        "invite.revoke",
        target=invite,
        before={"status": InviteStatus.PENDING},
        after={"status": InviteStatus.DELETED},
    )
    return invite


@transaction.atomic
def invite_resend(*, actor: Actor, invite: Invite) -> tuple[Invite, str]:
    """E-mail a pending invite again, with a new link valid for the full lifetime from now;
    the link sent before stops working. Returns the invite and the new link's token.

    The e-mail goes out once the transaction commits, and again until it is delivered
    (`accounts.outbox`)."""
    invite = Invite.objects.select_for_update().select_related("organization").get(pk=invite.pk)
    status = invite.current_status()
    if status != InviteStatus.PENDING:
        raise ValidationError(
            f"This invite is {InviteStatus(status).label.lower()} and cannot be sent again. "
            "Send a new invite instead."
        )
    token = new_token()
    before = invite.expires_at
    invite.token_hash = hash_secret(token)
    invite.expires_at = timezone.now() + timedelta(days=INVITE_LIFETIME_DAYS)
    invite.save(update_fields=["token_hash", "expires_at"])
    audit.record(
        actor,
        "invite.resend",
        target=invite,
        before={"expires_at": before.isoformat()},
        after={"email": invite.email, "expires_at": invite.expires_at.isoformat()},
    )
    outbox.send_after_commit(invite_email, invite.pk, secret=token)
    return invite, token


class InviteUnusable(Exception):
    """The link is unknown, revoked, expired or already used; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def invite_for_token(token: str) -> Invite:
    """The pending invite behind a link token, or `InviteUnusable` saying why not."""
    invite = (
        Invite.objects.select_related("organization").filter(token_hash=hash_secret(token)).first()
    )
    if invite is None:
        raise InviteUnusable("unknown")
    status = invite.current_status()
    if status != InviteStatus.PENDING:
        raise InviteUnusable(status)
    return invite


@transaction.atomic
def invite_accept(
    *, token: str, user: User | None = None, name: str = "", password: str = ""
) -> OrganizationMember:
    """Accept an invite as the existing `user`, or create the user from `name`/`password`."""
    invite = invite_for_token(token)
    invite = Invite.objects.select_for_update().get(pk=invite.pk)
    if invite.current_status() != InviteStatus.PENDING:
        raise InviteUnusable(invite.current_status())
    if user is None:
        if User.objects.filter(email=invite.email).exists():
            raise PermissionDenied("Sign in to accept this invite.")
        user = User.objects.create_user(invite.email, password, name=clean_name(name))
    elif user.email != invite.email:
        raise PermissionDenied(f"This invite is for {invite.email}.")
    try:
        with transaction.atomic():
            member = OrganizationMember.objects.create(
                organization=invite.organization, user=user, role=invite.role
            )
    except IntegrityError:
        member = OrganizationMember.objects.get(organization=invite.organization, user=user)
    invite.status = InviteStatus.ACCEPTED
    invite.accepted_at = timezone.now()
    invite.save(update_fields=["status", "accepted_at"])
    audit.record(
        Actor.for_user(user),
        "invite.accept",
        target=invite,
        after={"email": user.email, "role": member.role},
    )
    return member


# -- Admin API keys -------------------------------------------------------------------------

audit.register_actions(
    {
        "admin_key.create": "Admin key created",
        "admin_key.disable": "Admin key disabled",
        "admin_key.enable": "Admin key enabled",
        "admin_key.delete": "Admin key deleted",
        "admin_key.creator_lost": "Admin key stopped working: its creator is no longer an admin",
        "admin_key.creator_restored": "Admin key works again: its creator is an admin again",
    }
)

ADMIN_KEY_PREFIX = "sk-ant-admin01-"


@transaction.atomic
def admin_key_create(
    *, actor: Actor, organization: Organization, name: str
) -> tuple[AdminApiKey, str]:
    """A new Admin API key. Returns the key and its secret, which is never available again."""
    name = keys.clean_name(name)
    secret, hint, digest = new_api_secret(ADMIN_KEY_PREFIX)
    key = AdminApiKey.objects.create(
        organization=organization, name=name, hint=hint, secret_hash=digest, created_by=actor.user
    )
    audit.record(
        actor,
        "admin_key.create",
        target=key,
        after={"name": name, "hint": hint},
    )
    return key, secret


@transaction.atomic
def admin_key_disable(*, actor: Actor, key: AdminApiKey) -> AdminApiKey:
    keys.set_status(actor, key, KeyStatus.INACTIVE, action="admin_key.disable")
    return key


@transaction.atomic
def admin_key_enable(*, actor: Actor, key: AdminApiKey) -> AdminApiKey:
    keys.set_status(actor, key, KeyStatus.ACTIVE, action="admin_key.enable")
    return key


@transaction.atomic
def admin_key_delete(*, actor: Actor, key: AdminApiKey) -> AdminApiKey:
    keys.delete(actor, key, action="admin_key.delete")
    return key


def admin_key_authenticate(secret: str) -> AdminApiKey | None:
    """The active Admin API key for `secret` (with its organization and its creator's
    current role, see `AdminApiKey.creator_problem`), else None."""
    key = keys.authenticate(
        AdminApiKey.objects.select_related("organization", "created_by").with_creator_role(),
        secret,
        prefix=ADMIN_KEY_PREFIX,
    )
    return key if isinstance(key, AdminApiKey) else None


# A person's own display preferences. They change nothing in any organization, so they go
# in no organization's audit trail.


def _clean_user_field(name: str, value: str) -> str:
    """`value` as the user model's field `name` accepts it (choices, validators), checked
    before anything is assigned, so a refused value never reaches the signed-in user object."""
    field = cast(models.Field, User._meta.get_field(name))
    try:
        return field.clean(value, None)
    except ValidationError as error:
        raise ValidationError({name: error.messages}) from None


@transaction.atomic
def account_settings_update(*, user: User, time_zone: str, theme: str) -> User:
    time_zone = _clean_user_field("time_zone", (time_zone or "").strip())
    theme = _clean_user_field("theme", theme)
    user.time_zone, user.theme = time_zone, theme
    user.save(update_fields=["time_zone", "theme"])
    return user


@transaction.atomic
def account_theme_set(*, user: User, theme: str) -> User:
    user.theme = _clean_user_field("theme", theme)
    user.save(update_fields=["theme"])
    return user


def account_time_zone_detect(*, user: User, time_zone: str) -> bool:
    """Keep the zone the browser reported at sign-in if the user has none yet; a zone they
    chose is never replaced. One conditional UPDATE. Returns whether it was kept."""
    if not time_zones.is_valid(time_zone):
        return False
    kept = bool(User.objects.filter(pk=user.pk, time_zone="").update(time_zone=time_zone))
    if kept:
        user.time_zone = time_zone
    return kept
