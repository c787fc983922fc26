"""Reads about workspaces and their members, each a fixed number of queries."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.models import KeyStatus, OrganizationMember, User
from accounts.permissions import Access, effective_workspace_role, organization_access
from accounts.roles import OrgRole, WorkspaceRole
from workspaces.models import ApiKey, Workspace, WorkspaceMember

INHERITING_ROLES = (OrgRole.ADMIN, OrgRole.BILLING)


def _visible_to(member: OrganizationMember) -> Q:
    """Workspaces a member can see: all for admins and billing; else explicit + Default."""
    if member.role in INHERITING_ROLES:
        return Q()
    return Q(is_default=True) | Q(members__user_id=member.user_id)


def visible_workspaces(
    member: OrganizationMember, *, include_archived: bool = False, with_counts: bool = False
) -> QuerySet[Workspace]:
    """The member's workspaces, each with `viewer_role` (the viewer's explicit role there)
    and, `with_counts`, `explicit_member_count` (explicit members who do not also inherit a
    role)."""
    inheriting_users = OrganizationMember.objects.filter(
        organization_id=member.organization_id, role__in=INHERITING_ROLES
    ).values("user_id")
    explicit_count = (
        WorkspaceMember.objects.filter(workspace=OuterRef("pk"))
        .exclude(user_id__in=inheriting_users)
        .order_by()
        .values("workspace")
        .annotate(count=Count("id"))
        .values("count")
    )
    own_role = WorkspaceMember.objects.filter(workspace=OuterRef("pk"), user_id=member.user_id)
    workspaces = (
        Workspace.objects.filter(organization_id=member.organization_id)
        .filter(_visible_to(member))
        .annotate(viewer_role=Subquery(own_role.values("role")[:1]))
        .order_by("-is_default", "created_at", "id")
    )
    if with_counts:
        workspaces = workspaces.annotate(
            explicit_member_count=Coalesce(Subquery(explicit_count), 0)
        )
    if not include_archived:
        workspaces = workspaces.active()
    return workspaces


def member_counts(member: OrganizationMember) -> tuple[int, int]:
    """(all members, members inheriting a role in every workspace) of the organization."""
    counts = OrganizationMember.objects.filter(organization_id=member.organization_id).aggregate(
        total=Count("id"), inheriting=Count("id", filter=Q(role__in=INHERITING_ROLES))
    )
    return counts["total"], counts["inheriting"]


def workspace_access(
    member: OrganizationMember | None, workspace_id: str
) -> tuple[Workspace, Access]:
    """The workspace `workspace_id` of the member's organization, and the member's access in it.

    A workspace of another organization, or one the member cannot see, is a 404.
    """
    org_access = organization_access(member)
    member = org_access.member
    workspace = (
        Workspace.objects.filter(organization_id=member.organization_id, public_id=workspace_id)
        .annotate(
            viewer_role=WorkspaceMember.objects.filter(
                workspace=OuterRef("pk"), user_id=member.user_id
            ).values("role")[:1]
        )
        .first()
    )
    if workspace is None:
        raise Http404("No such workspace.")
    access = access_in(member, workspace)
    if access.workspace_role is None:
        raise Http404("No such workspace.")
    return workspace, access


def access_in(member: OrganizationMember, workspace: Workspace) -> Access:
    """The member's access in a workspace fetched with `viewer_role` annotated."""
    role = effective_workspace_role(
        member.role, workspace.viewer_role, is_default_workspace=workspace.is_default
    )
    return Access(member, role)


def resolve_workspace(
    member: OrganizationMember | None, workspace_id: str, capability: str
) -> tuple[Workspace, Access]:
    """`workspace_access` and require `capability` there (403 if missing)."""
    workspace, access = workspace_access(member, workspace_id)
    access.require(capability)
    return workspace, access


@dataclass(frozen=True)
class MemberRow:
    user: User
    role: str
    org_role: str
    inherited: bool
    since: object

    @property
    def role_label(self) -> str:
        return WorkspaceRole(self.role).label

    @property
    def removable(self) -> bool:
        return not self.inherited and self.org_role != OrgRole.ADMIN


def workspace_members(workspace: Workspace) -> list[MemberRow]:
    """Explicit and inherited members of a workspace, in two queries.

    Organization admins appear as inherited Workspace Admins; billing members as inherited
    Workspace Billing unless they were made Workspace Admin here.
    """
    explicit = {
        m.user_id: m
        for m in WorkspaceMember.objects.filter(workspace=workspace).select_related("user")
    }
    org_members = OrganizationMember.objects.filter(organization_id=workspace.organization_id)
    if not workspace.is_default:
        org_members = org_members.filter(
            Q(role__in=INHERITING_ROLES) | Q(user_id__in=explicit.keys())
        )
    rows = []
    for org_member in org_members.select_related("user"):
        explicit_member = explicit.get(org_member.user_id)
        role = effective_workspace_role(
            org_member.role,
            explicit_member.role if explicit_member else None,
            is_default_workspace=workspace.is_default,
        )
        rows.append(
            MemberRow(
                user=org_member.user,
                role=role,
                org_role=org_member.role,
                inherited=explicit_member is None or org_member.role == OrgRole.ADMIN,
                since=explicit_member.created_at if explicit_member else org_member.created_at,
            )
        )
    rows.sort(key=lambda row: (not row.inherited, (row.user.name or row.user.email).lower()))
    return rows


def addable_members(
    workspace: Workspace, search: str = "", limit: int = 50
) -> QuerySet[OrganizationMember]:
    """Organization members who can be added: not yet explicit members, not admins."""
    members = (
        OrganizationMember.objects.filter(organization_id=workspace.organization_id)
        .exclude(role=OrgRole.ADMIN)
        .exclude(
            Exists(WorkspaceMember.objects.filter(workspace=workspace, user_id=OuterRef("user_id")))
        )
        .select_related("user")
        .order_by("user__email")
    )
    if search:
        members = members.filter(Q(user__email__icontains=search) | Q(user__name__icontains=search))
    return members[:limit]


@dataclass(frozen=True)
class Tab:
    label: str
    url_name: str
    capability: str


# The workspace page's tabs, in order; each shows only to members with its capability.
WORKSPACE_TABS = [
    Tab("Members", "workspaces:workspace_members", "members.view"),
    Tab("API Keys", "workspaces:workspace_keys", "keys.view"),
    Tab("Limits", "billing:workspace_limits", "limits.view"),
]


def workspace_tabs(workspace: Workspace, access: Access) -> list[dict]:
    tabs = [
        {
            "label": tab.label,
            "url": reverse(tab.url_name, args=[workspace.public_id]),
            "name": tab.url_name,
        }
        for tab in WORKSPACE_TABS
        if access.can(tab.capability)
    ]
    if workspace.is_default:
        # "Click on Default" in the list shows the Default workspace's API keys first.
        tabs.sort(key=lambda tab: tab["name"] != "workspaces:workspace_keys")
    return tabs


def first_tab(workspace: Workspace, access: Access) -> dict | None:
    tabs = workspace_tabs(workspace, access)
    return tabs[0] if tabs else None


def switcher_workspaces(member: OrganizationMember) -> list[Workspace]:
    """The active workspaces for the top bar's switcher (one query)."""
    return list(
        Workspace.objects.filter(organization_id=member.organization_id)
        .filter(_visible_to(member))
        .active()
        .only("public_id", "name", "display_color", "is_default")
        .order_by("-is_default", "name")
    )


def workspace_roles_anywhere(member: OrganizationMember) -> set[str]:
    """Every workspace role the member holds somewhere in the organization (one query)."""
    roles = {effective_workspace_role(member.role, None, is_default_workspace=True)}
    explicit = WorkspaceMember.objects.filter(
        workspace__organization_id=member.organization_id,
        workspace__archived_at__isnull=True,
        user_id=member.user_id,
    ).values_list("role", flat=True)
    for role in set(explicit):
        roles.add(effective_workspace_role(member.role, role, is_default_workspace=False))
    return roles


def can_anywhere(
    member: OrganizationMember,
    capability: str,
    roles: Callable[[], set[str]] | None = None,
) -> bool:
    """Whether the member holds a workspace capability in at least one workspace.

    The Default workspace, where every member takes part, is asked first, so most members
    cost no query; `roles` can supply a memoized `workspace_roles_anywhere`.
    """
    baseline = effective_workspace_role(member.role, None, is_default_workspace=True)
    if Access(member, baseline).can(capability):
        return True
    held = roles() if roles is not None else workspace_roles_anywhere(member)
    return any(Access(member, role).can(capability) for role in held)


def workspaces_with(member: OrganizationMember, capability: str) -> list[Workspace]:
    """The member's visible workspaces (archived included) where they hold `capability`."""
    workspaces = visible_workspaces(member, include_archived=True)
    return [w for w in workspaces if access_in(member, w).can(capability)]


# -- API keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyFilters:
    workspace: Workspace | None = None
    status: str = ""
    creator: str = ""  # a user's public id


def api_keys(
    member: OrganizationMember, filters: KeyFilters, *, workspaces: list[Workspace] | None
) -> QuerySet:
    """Keys of the organization, newest first. `workspaces` limits them to the given
    workspaces (None: every workspace, for organization admins)."""
    keys = ApiKey.objects.filter(organization_id=member.organization_id).select_related(
        "workspace", "created_by"
    )
    if filters.workspace is not None:
        keys = keys.filter(workspace=filters.workspace)
    elif workspaces is not None:
        keys = keys.filter(workspace__in=[w.pk for w in workspaces])
    now = timezone.now()
    unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    if filters.status == KeyStatus.EXPIRED:
        keys = keys.exclude(status=KeyStatus.ARCHIVED).filter(expires_at__lte=now)
    elif filters.status in (KeyStatus.ACTIVE, KeyStatus.INACTIVE):
        keys = keys.filter(unexpired, status=filters.status)
    elif filters.status == KeyStatus.ARCHIVED:
        keys = keys.filter(status=KeyStatus.ARCHIVED)
    else:
        keys = keys.exclude(status=KeyStatus.ARCHIVED)
    if filters.creator:
        keys = keys.filter(created_by__public_id=filters.creator)
    return keys


def resolve_api_key(member: OrganizationMember | None, key_id: str, capability: str):
    """The key `key_id` of the member's organization and the member's access in its workspace;
    404 for other organizations' keys and workspaces the member cannot see, 403 without
    `capability`."""
    member = organization_access(member).member
    key = (
        ApiKey.objects.filter(organization_id=member.organization_id, public_id=key_id)
        .select_related("workspace", "created_by")
        .first()
    )
    if key is None:
        raise Http404("No such API key.")
    workspace, access = workspace_access(member, key.workspace.public_id)
    access.require(capability)
    key.workspace = workspace
    return key, access
