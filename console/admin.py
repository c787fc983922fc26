"""What the apps' admin classes share: models staff may only look at, and bulk actions that
go through the services one object at a time, so every rule and audit event holds there too."""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never added, changed or deleted here: history, or rows changed only by the
    services (through actions)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def apply_each[T: Model](
    request: HttpRequest,
    objects: Iterable[T],
    change: Callable[[T], object],
    *,
    name: Callable[[T], str],
    done: str,
    noun: str,
) -> int:
    """`change(obj)` for each object. What it refuses (a service's `ValidationError`, or a
    `PermissionDenied`) becomes a warning naming the object; the rest, one success message
    ("Archived 2 workspace(s)."). Returns how many changed."""
    changed = 0
    for obj in objects:
        try:
            change(obj)
        except (ValidationError, PermissionDenied) as error:
            reason = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            messages.warning(request, f"{name(obj)}: {reason}")
        else:
            changed += 1
    if changed:
        messages.success(request, f"{done} {changed} {noun}(s).")
    return changed
