from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts import selectors as account_selectors
from accounts.models import User
from workspaces import access as access_rules
from workspaces import selectors


def console(request: HttpRequest) -> dict[str, Any]:
    """The signed-in member, their organization, the Settings sidebar and the switchers, for
    every page (each list is read only by the pages that show it)."""
    member = getattr(request, "member", None)
    user = request.user
    if member is None or not isinstance(user, User):
        return {}
    access = access_rules.Access(member)
    return {
        "member": member,
        "organization": member.organization,
        "sidebar": SimpleLazyObject(lambda: access_rules.sidebar(access, request.path)),
        "switchable_organizations": SimpleLazyObject(
            lambda: list(account_selectors.user_organizations(user))
        ),
        "switcher_workspaces": SimpleLazyObject(lambda: selectors.switcher_workspaces(member)),
    }
