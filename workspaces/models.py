from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import (
    AuditTarget,
    Organization,
    OrganizationMember,
    SecretKey,
    SecretKeyQuerySet,
)
from accounts.roles import ASSIGNABLE_WORKSPACE_ROLES, WorkspaceRole
from console.ids import public_id_field

NAME_MAX_LENGTH = 40
MAX_ACTIVE_WORKSPACES = 100
DEFAULT_WORKSPACE_NAME = "Default"


class WorkspaceColor(models.TextChoices):
    """The palette the pages offer (the Default workspace is always the first); any other
    `#RRGGBB` colour can be chosen too."""

    SLATE = "#6B7280", "Slate"
    CLAY = "#D97757", "Clay"
    AMBER = "#D4A017", "Amber"
    OLIVE = "#788C5D", "Olive"
    TEAL = "#2A9D8F", "Teal"
    SKY = "#3B82F6", "Sky"
    IRIS = "#7C6FE0", "Iris"
    ROSE = "#D14D72", "Rose"


HEX_COLOR = RegexValidator(
    r"^#[0-9A-Fa-f]{6}\Z", "Use a colour written as #RRGGBB, such as #2A9D8F.", code="invalid_color"
)


class WorkspaceGeo(models.TextChoices):
    """Where a workspace's data is stored."""

    US = "us", "United States"


class InferenceGeo(models.TextChoices):
    """Where requests may run (a workspace's allowed and default geos) and where they ran
    (usage); usage the gateway could not place is NOT_AVAILABLE."""

    GLOBAL = "global", "Global"
    US = "us", "United States"
    NOT_AVAILABLE = "", "Not available"


# The geos a request can be sent to: what a workspace allows and defaults to.
ROUTABLE_INFERENCE_GEOS = tuple(geo for geo in InferenceGeo if geo != InferenceGeo.NOT_AVAILABLE)


class WorkspaceQuerySet(models.QuerySet["Workspace"]):
    def active(self) -> "WorkspaceQuerySet":
        return self.filter(archived_at__isnull=True)


class Workspace(models.Model):
    public_id = public_id_field("workspace")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="workspaces"
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    display_color = models.CharField(
        "colour", max_length=7, validators=[HEX_COLOR], default=WorkspaceColor.CLAY
    )
    tags = models.JSONField(default=dict, blank=True, help_text="Names and values, both text.")
    workspace_geo = models.CharField(
        max_length=10, choices=WorkspaceGeo.choices, default=WorkspaceGeo.US, editable=False
    )
    # None: requests may run in any geo.
    allowed_inference_geos = models.JSONField(null=True, blank=True)
    default_inference_geo = models.CharField(
        max_length=10,
        choices=[(geo.value, geo.label) for geo in ROUTABLE_INFERENCE_GEOS],
        default=InferenceGeo.GLOBAL,
    )
    compartment_id = public_id_field("compartment")
    # Both set once and never changed, as Anthropic's API has them.
    external_key_id = models.CharField(max_length=200, blank=True, default="", editable=False)
    user_profile_id = models.CharField(max_length=200, blank=True, default="", editable=False)
    is_default = models.BooleanField(default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Kept by the API key services, so lists never count keys (a workspace may hold millions).
    active_key_count = models.PositiveIntegerField(default=0, editable=False)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["-is_default", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_default=True),
                name="workspace_one_default_per_organization",
            ),
            # The services refuse a taken name with a message; this holds under races.
            models.UniqueConstraint(
                F("organization"),
                Lower("name"),
                condition=Q(archived_at__isnull=True),
                name="workspace_active_name_unique",
            ),
        ]
        indexes = [models.Index(fields=["organization", "archived_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def audit_target(self) -> AuditTarget:
        return AuditTarget("workspace", self.public_id, self.organization_id)


class WorkspaceMember(models.Model):
    """An explicit workspace membership. Inherited ones (org admins, billing) are computed.

    It belongs to the user's membership of the workspace's organization and ends with it:
    removing someone from the organization removes them from its workspaces.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workspace_memberships"
    )
    organization_member = models.ForeignKey(
        OrganizationMember, on_delete=models.CASCADE, related_name="workspace_memberships"
    )
    role = models.CharField(
        max_length=40,
        choices=[(role.value, role.label) for role in ASSIGNABLE_WORKSPACE_ROLES],
        default=WorkspaceRole.USER,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="workspace_member_unique"),
            models.CheckConstraint(
                condition=Q(role__in=[role.value for role in ASSIGNABLE_WORKSPACE_ROLES]),
                name="workspace_member_role_assignable",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def audit_target(self) -> AuditTarget:
        return AuditTarget(
            "workspace_member",
            f"{self.workspace.public_id}:{self.user.public_id}",
            self.workspace.organization_id,
        )


class ApiKeyQuerySet(SecretKeyQuerySet["ApiKey"]):
    pass


class ApiKey(SecretKey):
    """A workspace's API key. Its workspace is set at creation and never changes."""

    public_id = public_id_field("api_key")
    # Kept beside the workspace so organization-wide lists page through one index.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="api_keys")
    expiry_notice_7d_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    expiry_notice_1d_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-public_id"]
        indexes = [
            models.Index(fields=["organization", "-public_id"], name="apikey_org_newest"),
            models.Index(fields=["workspace", "-public_id"], name="apikey_workspace_newest"),
            models.Index(fields=["organization", "status", "-public_id"], name="apikey_org_status"),
            models.Index(
                fields=["organization", "created_by", "-public_id"], name="apikey_org_creator"
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(expires_at__isnull=False, status="active"),
                name="apikey_expiring",
            ),
        ]

    @property
    def audit_target(self) -> AuditTarget:
        return AuditTarget("api_key", self.public_id, self.organization_id)

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            stored = (
                type(self).objects.filter(pk=self.pk).values_list("workspace_id", flat=True).first()
            )
            if stored is not None and stored != self.workspace_id:
                raise ValueError("An API key cannot move to another workspace.")
        super().save(*args, **kwargs)
