"""Reads about workspaces and their members, each a fixed number of queries."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower
from django.http import Http404

from accounts.models import KeyStatus, Organization, OrganizationMember, User
from accounts.roles import INHERITING_ORG_ROLES, OrgRole, WorkspaceRole
from console.pagination import CursorPage, cursor_page
from workspaces.access import (
    Access,
    access_in,
    effective_workspace_role,
    inherited_workspace_role,
    viewer_role,
    visible_to,
    workspace_access,
)
from workspaces.models import ApiKey, Workspace, WorkspaceMember


@dataclass(frozen=True)
class WorkspaceRow:
    workspace: Workspace
    member_count: int
    access: Access


# Settings > Workspaces' orders, by the `sort` the page asks for (a leading "-" reverses it):
# the fields of `cursor_page`, the last unique. Without one: Default first, then oldest first.
WORKSPACE_ORDERS: dict[str, list[str]] = {
    "": ["-is_default", "created_at", "pk"],
    "name": ["sort_name", "pk"],
    "-name": ["-sort_name", "-pk"],
    "created": ["created_at", "pk"],
    "-created": ["-created_at", "-pk"],
    "members": ["member_count", "pk"],
    "-members": ["-member_count", "-pk"],
    "keys": ["active_key_count", "pk"],
    "-keys": ["-active_key_count", "-pk"],
}
WORKSPACE_PAGE_SIZE = 50


@dataclass(frozen=True)
class WorkspaceRows:
    rows: list[WorkspaceRow]
    page: CursorPage


def workspace_rows(
    member: OrganizationMember,
    *,
    include_archived: bool,
    search: str = "",
    sort: str = "",
    cursor: str | None = None,
    size: int = WORKSPACE_PAGE_SIZE,
) -> WorkspaceRows:
    """One page of the workspaces the member can see, named like `search`, in the order
    `sort` (a key of `WORKSPACE_ORDERS`), each with its number of members and the member's
    access there (two queries, whatever the page).

    A workspace's members are its explicit members and everyone taking part through their
    organization role (admins and billing members); in the Default workspace, everyone.
    """
    counts = OrganizationMember.objects.filter(organization_id=member.organization_id).aggregate(
        total=Count("id"), inheriting=Count("id", filter=Q(role__in=INHERITING_ORG_ROLES))
    )
    inheriting_users = OrganizationMember.objects.filter(
        organization_id=member.organization_id, role__in=INHERITING_ORG_ROLES
    ).values("user_id")
    explicit_count = (
        WorkspaceMember.objects.filter(workspace=OuterRef("pk"))
        .exclude(user_id__in=inheriting_users)
        .order_by()
        .values("workspace")
        .annotate(count=Count("id"))
        .values("count")
    )
    workspaces = (
        Workspace.objects.filter(organization_id=member.organization_id)
        .filter(visible_to(member))
        .annotate(
            viewer_role=viewer_role(member),
            sort_name=Lower("name"),
            member_count=Case(
                When(is_default=True, then=Value(counts["total"])),
                default=Coalesce(Subquery(explicit_count), 0) + Value(counts["inheriting"]),
                output_field=IntegerField(),
            ),
        )
    )
    if not include_archived:
        workspaces = workspaces.filter(archived_at__isnull=True)
    if search:
        workspaces = workspaces.filter(name__icontains=search)
    page = cursor_page(
        workspaces, cursor=cursor, order=WORKSPACE_ORDERS.get(sort, WORKSPACE_ORDERS[""]), size=size
    )
    return WorkspaceRows(
        rows=[
            WorkspaceRow(
                workspace=workspace,
                member_count=workspace.member_count,
                access=access_in(member, workspace, workspace.viewer_role),
            )
            for workspace in page.items
        ],
        page=page,
    )


@dataclass(frozen=True)
class Elsewhere:
    workspace: Workspace
    member: OrganizationMember


def workspace_elsewhere(
    user: User, current: OrganizationMember, workspace_id: str
) -> Elsewhere | None:
    """The workspace `workspace_id` when it belongs to another of `user`'s organizations and
    they could see it there, with their membership of that organization; else None (so the
    caller answers a plain 404, telling nobody else that it exists). Two queries."""
    other = (
        OrganizationMember.objects.filter(
            user=user,
            organization__workspaces__public_id=workspace_id,
        )
        .exclude(organization_id=current.organization_id)
        .select_related("organization")
        .first()
    )
    if other is None:
        return None
    try:
        workspace, _access = workspace_access(other, workspace_id)
    except Http404:
        return None
    return Elsewhere(workspace=workspace, member=other)


def active_workspace_count(organization_id: uuid.UUID) -> int:
    """How many of the organization's workspaces are active (the limit counts these)."""
    return Workspace.objects.filter(organization_id=organization_id).active().count()


@dataclass(frozen=True)
class WorkspaceRef:
    """A workspace named in a list that needs nothing else of it."""

    pk: int
    public_id: str
    name: str
    is_default: bool


def workspaces_taken_part_in(
    organization: Organization, members: list[OrganizationMember]
) -> dict[int, list[WorkspaceRef]]:
    """For each of `members` (by pk), the active workspaces they take part in, Default first
    then oldest first: every one when their organization role carries a workspace role
    (admins, billing), else the Default workspace and those they are explicit members of.
    Two queries, whatever the number of members."""
    workspaces = [
        WorkspaceRef(*row)
        for row in Workspace.objects.filter(organization=organization)
        .active()
        .order_by("-is_default", "created_at", "id")
        .values_list("pk", "public_id", "name", "is_default")
    ]
    position = {workspace.pk: index for index, workspace in enumerate(workspaces)}
    default = [workspace for workspace in workspaces if workspace.is_default]
    explicit: dict[int, list[int]] = {}
    for user_id, workspace_id in WorkspaceMember.objects.filter(
        workspace__organization=organization,
        workspace__archived_at__isnull=True,
        workspace__is_default=False,
        user_id__in=[member.user_id for member in members],
    ).values_list("user_id", "workspace_id"):
        if workspace_id in position:  # not one made between the two queries
            explicit.setdefault(user_id, []).append(position[workspace_id])
    return {
        member.pk: workspaces
        if member.role in INHERITING_ORG_ROLES
        else [*default, *(workspaces[at] for at in sorted(explicit.get(member.user_id, ())))]
        for member in members
    }


@dataclass(frozen=True)
class MemberRow:
    user: User
    role: str
    org_role: str
    inherited: bool
    since: datetime

    @property
    def role_label(self) -> str:
        return WorkspaceRole(self.role).label

    @property
    def removable(self) -> bool:
        return not self.inherited


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
            Q(role__in=INHERITING_ORG_ROLES) | Q(user_id__in=explicit.keys())
        )
    rows = []
    for org_member in org_members.select_related("user"):
        explicit_member = explicit.get(org_member.user_id)
        role = effective_workspace_role(
            org_member.role,
            explicit_member.role if explicit_member else None,
            is_default_workspace=workspace.is_default,
        )
        if role is None:  # not taking part here after all
            continue
        rows.append(
            MemberRow(
                user=org_member.user,
                role=role,
                org_role=org_member.role,
                inherited=explicit_member is None
                or inherited_workspace_role(org_member.role) == WorkspaceRole.ADMIN,
                since=explicit_member.created_at if explicit_member else org_member.created_at,
            )
        )
    rows.sort(key=lambda row: (not row.inherited, (row.user.name or row.user.email).lower()))
    return rows


def addable_members(
    workspace: Workspace, search: str = "", limit: int = 50
) -> QuerySet[OrganizationMember]:
    """Organization members who can be added: not yet explicit members, and not admins (who
    are Workspace Admin of every workspace already)."""
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


def switcher_workspaces(member: OrganizationMember) -> list[Workspace]:
    """The active workspaces for the top bar's switcher (one query)."""
    return list(
        Workspace.objects.filter(organization_id=member.organization_id)
        .filter(visible_to(member))
        .active()
        .only("public_id", "name", "display_color", "is_default")
        .order_by("-is_default", "name")
    )


# -- What an organization role change changes ------------------------------------------------


@dataclass(frozen=True)
class WorkspaceRoleChange:
    """Workspaces where a member's role goes from `before` to `after` (None: no access)."""

    before: str | None
    after: str | None
    workspaces: list[Workspace]

    @property
    def before_label(self) -> str:
        return WorkspaceRole(self.before).label if self.before else ""

    @property
    def after_label(self) -> str:
        return WorkspaceRole(self.after).label if self.after else ""


@dataclass(frozen=True)
class RoleChangeEffects:
    """What giving `member` the organization role `role` changes in the active workspaces:
    where they gain access, lose it, or take part with another workspace role, and where
    their role stays as it is."""

    member: OrganizationMember
    role: str
    gained: list[WorkspaceRoleChange]
    changed: list[WorkspaceRoleChange]
    lost: list[WorkspaceRoleChange]
    kept: list[WorkspaceRoleChange]

    @property
    def becomes_admin(self) -> bool:
        return self.member.role != OrgRole.ADMIN and self.role == OrgRole.ADMIN

    @property
    def stops_being_admin(self) -> bool:
        return self.member.role == OrgRole.ADMIN and self.role != OrgRole.ADMIN


def role_change_effects(member: OrganizationMember, role: str) -> RoleChangeEffects:
    """Workspace by workspace, what the organization role `role` would change for `member`
    (one query). Workspaces are grouped by the change, Default first then by name."""
    workspaces = (
        Workspace.objects.filter(organization_id=member.organization_id)
        .active()
        .annotate(viewer_role=viewer_role(member))
        .only("public_id", "name", "display_color", "is_default")
        .order_by("-is_default", "name", "id")
    )
    groups: dict[tuple[str | None, str | None], list[Workspace]] = {}
    for workspace in workspaces:
        before = effective_workspace_role(
            member.role, workspace.viewer_role, is_default_workspace=workspace.is_default
        )
        after = effective_workspace_role(
            role, workspace.viewer_role, is_default_workspace=workspace.is_default
        )
        if before is None and after is None:
            continue
        groups.setdefault((before, after), []).append(workspace)
    changes = [WorkspaceRoleChange(b, a, listed) for (b, a), listed in groups.items()]
    return RoleChangeEffects(
        member=member,
        role=role,
        gained=[c for c in changes if c.before is None],
        changed=[c for c in changes if c.before and c.after and c.before != c.after],
        lost=[c for c in changes if c.after is None],
        kept=[c for c in changes if c.before == c.after],
    )


# -- API keys -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyFilters:
    workspace: Workspace | None = None
    status: str = ""  # a KeyStatus; "" is every status but deleted
    creator: str = ""  # a user's public id
    search: str = ""  # part of the name, in any case
    include_deleted: bool = False  # with status "": deleted keys too


def api_keys(
    member: OrganizationMember, filters: KeyFilters, *, workspaces: list[Workspace] | None
) -> QuerySet[ApiKey]:
    """Keys of the organization, newest first. `workspaces` limits them to the given
    workspaces (None: every workspace)."""
    keys = ApiKey.objects.filter(organization_id=member.organization_id).select_related(
        "workspace", "created_by"
    )
    if filters.workspace is not None:
        keys = keys.filter(workspace=filters.workspace)
    elif workspaces is not None:
        keys = keys.filter(workspace__in=[w.pk for w in workspaces])
    if filters.status:
        keys = keys.with_status(filters.status)
    elif not filters.include_deleted:
        keys = keys.exclude(status=KeyStatus.ARCHIVED)
    if filters.creator:
        keys = keys.filter(created_by__public_id=filters.creator)
    if filters.search:
        keys = keys.filter(name__icontains=filters.search)
    return keys
