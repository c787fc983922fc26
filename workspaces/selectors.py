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
from django.utils import timezone

from accounts.models import KeyStatus, OrganizationMember, User
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
    now = timezone.now()
    unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    if filters.status == KeyStatus.EXPIRED:
        keys = keys.exclude(status=KeyStatus.ARCHIVED).filter(expires_at__lte=now)
    elif filters.status in (KeyStatus.ACTIVE, KeyStatus.INACTIVE):
        keys = keys.filter(unexpired, status=filters.status)
    elif filters.status == KeyStatus.ARCHIVED:
        keys = keys.filter(status=KeyStatus.ARCHIVED)
    elif not filters.include_deleted:
        keys = keys.exclude(status=KeyStatus.ARCHIVED)
    if filters.creator:
        keys = keys.filter(created_by__public_id=filters.creator)
    if filters.search:
        keys = keys.filter(name__icontains=filters.search)
    return keys
