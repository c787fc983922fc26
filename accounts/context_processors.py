from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from accounts import selectors
from accounts.permissions import Access
from workspaces import selectors as workspace_selectors


@dataclass(frozen=True)
class SidebarItem:
    label: str
    url_name: str
    capability: str


# The Settings sidebar, in order. Items the viewer may not use are left out.
SIDEBAR = [
    SidebarItem("Organization", "accounts:organization", "org.view"),
    SidebarItem("Members", "accounts:members", "org.members.view"),
    SidebarItem("Workspaces", "workspaces:workspace_list", "org.view"),
    SidebarItem("Audit log", "accounts:audit_log", "audit.view"),
]


def _sidebar(request: HttpRequest, access: Access) -> list[dict]:
    items = []
    for item in SIDEBAR:
        if not access.can(item.capability):
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
