import uuid
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Self, TypeVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.roles import OrgRole
from accounts.time_zones import validate_time_zone
from console.ids import public_id_field

NAME_MAX_LENGTH = 100
INVITE_LIFETIME_DAYS = 21


@dataclass(frozen=True)
class AuditTarget:
    """How the audit trail names an object: its kind, its id, and the organization whose
    trail it belongs to (None: the operator's own, such as a gateway token)."""

    type: str
    id: str
    organization_id: uuid.UUID | None


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, email: str | None) -> "User":
        """Sign-in looks addresses up as stored: lower case."""
        return self.get(email=(email or "").strip().lower())

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class Theme(models.TextChoices):
    SYSTEM = "system", "System"
    LIGHT = "light", "Light"
    DARK = "dark", "Dark"


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an e-mail address. Belongs to organizations via members."""

    public_id = public_id_field("user")
    email = models.EmailField("e-mail", unique=True)
    name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Staff can sign in to the Django admin."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="Times are shown in this zone. Empty until the user's browser reports one "
        "at sign-in or they choose one; until then the browser's zone is used.",
    )
    theme = models.CharField(max_length=10, choices=Theme.choices, default=Theme.SYSTEM)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name

    @property
    def audit_target(self) -> AuditTarget:
        """An account is the operator's: its own events are in no organization's trail."""
        return AuditTarget("user", self.public_id, None)


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="organization_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_target(self) -> AuditTarget:
        return AuditTarget("organization", str(self.id), self.id)


class OrganizationMember(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=OrgRole.choices, default=OrgRole.USER)
    created_at = models.DateTimeField("joined", default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="organization_member_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def audit_target(self) -> AuditTarget:
        """A membership is named by its person: the trail says what happened to them."""
        return AuditTarget("user", self.user.public_id, self.organization_id)


class InviteStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    EXPIRED = "expired", "Expired"
    DELETED = "deleted", "Revoked"


class InviteQuerySet(models.QuerySet["Invite"]):
    def pending(self) -> "InviteQuerySet":
        """Invites that can still be accepted."""
        return self.with_status([InviteStatus.PENDING])

    def with_status(self, statuses: Iterable[str]) -> "InviteQuerySet":
        """The invites whose `current_status` is one of `statuses`: a pending invite past
        its expiry is expired, though nothing rewrote it."""
        now = timezone.now()
        pending = Q(status=InviteStatus.PENDING)
        by_status = {
            InviteStatus.PENDING: pending & Q(expires_at__gt=now),
            InviteStatus.EXPIRED: pending & Q(expires_at__lte=now),
            InviteStatus.ACCEPTED: Q(status=InviteStatus.ACCEPTED),
            InviteStatus.DELETED: Q(status=InviteStatus.DELETED),
        }
        wanted = Q(pk__in=[])
        for status in statuses:
            wanted |= by_status[InviteStatus(status)]
        return self.filter(wanted)


# What an organization's list of invites shows unless asked for others: revoked ones are gone.
LISTED_INVITE_STATUSES = (InviteStatus.PENDING, InviteStatus.ACCEPTED, InviteStatus.EXPIRED)


class Invite(models.Model):
    """An e-mailed offer to join an organization. The link's token is stored only hashed.

    `status` stores pending, accepted or deleted; a pending invite past `expires_at`
    reads as expired (see `current_status`) without anything having to rewrite it.
    """

    public_id = public_id_field("invite")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invites")
    email = models.EmailField("e-mail")
    role = models.CharField(max_length=20, choices=OrgRole.choices)
    status = models.CharField(
        max_length=20, choices=InviteStatus.choices, default=InviteStatus.PENDING
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = InviteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "status", "email"])]

    def __str__(self) -> str:
        return f"Invite for {self.email} to {self.organization_id}"

    def current_status(self, now: datetime | None = None) -> str:
        if self.status == InviteStatus.PENDING and self.expires_at <= (now or timezone.now()):
            return InviteStatus.EXPIRED
        return self.status

    @property
    def status_label(self) -> str:
        return InviteStatus(self.current_status()).label

    @property
    def audit_target(self) -> AuditTarget:
        return AuditTarget("invite", self.public_id, self.organization_id)


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only.")

    def delete(self):
        raise TypeError("Audit events are append-only.")


class AuditEvent(models.Model):
    """Who did what to which object, and when. Append-only: never updated or deleted.

    Events of an organization's objects are in its trail; those of the operator's own (gateway
    tokens) have no organization and are seen by staff only.
    """

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept beside the foreign key so the trail still names who acted after a user is gone,
    # and so non-user actors (an Admin API key, a management command) can be named.
    actor_label = models.CharField(max_length=255)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "-id"], name="audit_org_newest"),
            models.Index(fields=["organization", "action", "-id"], name="audit_org_action"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_type} {self.target_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise TypeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only.")


class KeyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Disabled"
    ARCHIVED = "archived", "Deleted"
    EXPIRED = "expired", "Expired"


_Key = TypeVar("_Key", bound="SecretKey")


class SecretKeyQuerySet(models.QuerySet[_Key]):
    def with_status(self, status: str) -> Self:
        """The keys whose `current_status` is `status`: a key past its expiry is expired
        (unless deleted), though nothing rewrote it."""
        expired = Q(expires_at__lte=timezone.now())
        if status == KeyStatus.EXPIRED:
            return self.exclude(status=KeyStatus.ARCHIVED).filter(expired)
        if status == KeyStatus.ARCHIVED:
            return self.filter(status=KeyStatus.ARCHIVED)
        return self.filter(status=KeyStatus(status)).exclude(expired)


class SecretKey(models.Model):
    """What API keys and Admin API keys share: a name, a status, and a secret that is shown
    once and kept only as its keyed hash (unique, so authentication is one index lookup).

    `status` stores active, inactive or archived; a key past `expires_at` reads as expired
    (`current_status`) without anything having to rewrite it.
    """

    name = models.CharField(max_length=500)
    status = models.CharField(
        max_length=20,
        choices=[c for c in KeyStatus.choices if c[0] != KeyStatus.EXPIRED],
        default=KeyStatus.ACTIVE,
    )
    hint = models.CharField("partial key hint", max_length=40, editable=False)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} ({self.hint})"

    def current_status(self, now: datetime | None = None) -> str:
        if (
            self.status != KeyStatus.ARCHIVED
            and self.expires_at is not None
            and self.expires_at <= (now or timezone.now())
        ):
            return KeyStatus.EXPIRED
        return self.status

    @property
    def status_label(self) -> str:
        return KeyStatus(self.current_status()).label

    @property
    @abstractmethod
    def audit_target(self) -> AuditTarget:
        """How the audit trail names the key; each kind says."""


class AdminApiKeyQuerySet(models.QuerySet["AdminApiKey"]):
    def with_creator_role(self) -> "AdminApiKeyQuerySet":
        """Each key with `creator_role`: its creator's role in the key's organization now
        (None when the creator left it or their account is gone)."""
        return self.annotate(
            creator_role=models.Subquery(
                OrganizationMember.objects.filter(
                    organization=models.OuterRef("organization"),
                    user=models.OuterRef("created_by"),
                )
                .order_by()
                .values("role")[:1]
            )
        )


class AdminApiKey(SecretKey):
    """An organization-level key for the Admin API, managed only by organization admins.

    It acts with its creator's current standing: it works only while its creator is an
    admin of its organization (`creator_problem` says why not).
    """

    public_id = public_id_field("admin_key")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="admin_keys"
    )

    objects = AdminApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-public_id"]
        indexes = [models.Index(fields=["organization", "-public_id"], name="adminkey_org_newest")]

    @property
    def audit_target(self) -> AuditTarget:
        return AuditTarget("admin_key", self.public_id, self.organization_id)

    def creator_problem(self) -> "CreatorProblem | None":
        """Why the key cannot act for its creator now, or None when it can. Reads the
        `creator_role` annotation (`with_creator_role`), else asks the database."""
        if self.created_by_id is None:
            return CREATOR_LEFT
        if hasattr(self, "creator_role"):
            role = self.creator_role
        else:
            role = (
                OrganizationMember.objects.filter(
                    organization_id=self.organization_id, user_id=self.created_by_id
                )
                .values_list("role", flat=True)
                .first()
            )
        creator = self.created_by
        if role is None or creator is None:
            return CREATOR_LEFT
        if not creator.is_active:
            return CREATOR_DEACTIVATED
        if role != OrgRole.ADMIN:
            return CREATOR_NOT_ADMIN
        return None


@dataclass(frozen=True)
class CreatorProblem:
    """Why an Admin key stopped working: `code` (the page's `data-status`), the `reason` its
    401 and the page's tooltip give, and the page's `badge`."""

    code: str
    reason: str
    badge: str

    def __str__(self) -> str:
        return self.reason


CREATOR_LEFT = CreatorProblem(
    "creator_left",
    "its creator is no longer a member of the organization.",
    "Stopped: creator left the organization",
)
CREATOR_DEACTIVATED = CreatorProblem(
    "creator_deactivated",
    "its creator's account was deactivated.",
    "Stopped: creator deactivated",
)
CREATOR_NOT_ADMIN = CreatorProblem(
    "creator_not_admin",
    "its creator is no longer an admin of the organization.",
    "Stopped: creator not an admin",
)


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    NOT_NEEDED = "not_needed", "Not needed"  # what it was about no longer asks for it
    FAILED = "failed", "Failed"  # tried MAX_ATTEMPTS times; given up


class OutgoingEmail(models.Model):
    """An e-mail a change asked for, kept until it is delivered (`accounts.outbox`).

    It holds what composes the message and about what, not the message: the message is
    composed when it is sent, so it never holds a secret (an invite's link is made anew)
    and never says something that stopped being true.
    """

    composer = models.CharField(max_length=200)  # dotted path of the function
    about = models.CharField(max_length=64)  # the primary key it is composed from
    status = models.CharField(
        max_length=12, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "outgoing e-mail"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="outgoing_email_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.composer.rsplit('.', 1)[-1]} about {self.about} ({self.status})"
