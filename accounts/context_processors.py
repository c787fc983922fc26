from dataclasses import dataclass
from functools import cache

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from accounts import selectors
from accounts.permissions import Access, default_workspace_access
from workspaces import selectors as workspace_selectors


@dataclass(frozen=True)
class SidebarItem:
    label: str
    url_name: str
    capability: str
    # "organization": asked of the organization role; "anywhere": held in any workspace;
    # "default": held in the Default workspace, where every member takes part.
    scope: str = "organization"


# The Settings sidebar, in order. Items the viewer may not use are left out.
SIDEBAR = [
    SidebarItem("Organization", "accounts:organization", "org.view"),
    SidebarItem("Members", "accounts:members", "org.members.view"),
    SidebarItem("Workspaces", "workspaces:workspace_list", "org.view"),
    SidebarItem("API Keys", "workspaces:api_key_list", "keys.view", scope="anywhere"),
    SidebarItem("Admin Keys", "accounts:admin_key_list", "adminkeys.manage"),
    SidebarItem("Limits", "billing:organization_limits", "limits.view", scope="default"),
    SidebarItem("Usage", "billing:usage", "usage.view", scope="anywhere"),
    SidebarItem("Cost", "billing:cost", "cost.view", scope="anywhere"),
    SidebarItem("Audit log", "accounts:audit_log", "audit.view"),
]


def _sidebar(request: HttpRequest, access: Access) -> list[dict]:
    """The items the member may use, each asked as its `scope` says."""
    items = []
    roles = cache(lambda: workspace_selectors.workspace_roles_anywhere(access.member))
    for item in SIDEBAR:
        if item.scope == "anywhere":
            visible = workspace_selectors.can_anywhere(access.member, item.capability, roles)
        elif item.scope == "default":
            visible = default_workspace_access(access.member).can(item.capability)
        else:
            visible = access.can(item.capability)
        if not visible:
            continue
        url = reverse(item.url_name)
        items.append({"label": item.label, "url": url, "current": request.path.startswith(url)})
    return items


def console(request: HttpRequest) -> dict:
    member = getattr(request, "member", None)
    if member is None:
        return {}
    access = Access(member)
    return {
        "member": member,
        "organization": member.organization,
        "org_access": access,
        "sidebar": SimpleLazyObject(lambda: _sidebar(request, access)),
        "switchable_organizations": SimpleLazyObject(
            lambda: list(selectors.user_organizations(request.user))
        ),
        "switcher_workspaces": SimpleLazyObject(
            lambda: workspace_selectors.switcher_workspaces(member)
        ),
    }
