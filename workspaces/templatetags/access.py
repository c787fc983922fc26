from django import template

from workspaces.access import BaseAccess

register = template.Library()


@register.filter
def can(access: BaseAccess | None, capability: str) -> bool:
    """`{% if access|can:"workspace.create" %}`: the template side of `Access.can`."""
    return access is not None and access.can(capability)


@register.filter
def refusal(access: BaseAccess | None, capability: str) -> str:
    """`{{ access|refusal:"workspace.edit" }}`: why the workspace's state refuses it now."""
    return (access.refusal(capability) if access is not None else None) or ""
