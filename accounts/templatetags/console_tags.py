from django import template

from accounts.permissions import Access

register = template.Library()


@register.filter
def can(access: Access | None, capability: str) -> bool:
    """`{% if access|can:"workspace.create" %}`: the template side of `Access.can`."""
    return access is not None and access.can(capability)


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)


@register.filter
def pretty_json(value) -> str:
    """A before/after dict as `key: value, ...` for the audit log."""
    if isinstance(value, dict):
        return ", ".join(f"{key}: {val}" for key, val in value.items())
    return str(value)
