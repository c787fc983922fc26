"""What the apps' admin classes share: models staff may only look at, and bulk actions that
go through the services one object at a time, so every rule and audit event holds there too."""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.audit import Actor


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never added, changed or deleted here: history, or rows changed only by the
    services (through actions)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def apply_each(
    request: HttpRequest,
    objects: Iterable,
    change: Callable[[Actor, Any], Any],
    *,
    name: Callable[[Any], str],
    done: str,
    noun: str,
) -> int:
    """`change(actor, obj)` for each object, the signed-in staff member as actor. What a
    service refuses becomes a warning naming the object; the rest, one success message
    ("Archived 2 workspace(s)."). Returns how many changed."""
    actor = Actor.from_request(request)
    changed = 0
    for obj in objects:
        try:
            change(actor, obj)
        except ValidationError as error:
            messages.warning(request, f"{name(obj)}: {' '.join(error.messages)}")
        else:
            changed += 1
    if changed:
        messages.success(request, f"{done} {changed} {noun}(s).")
    return changed
