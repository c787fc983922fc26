"""What the apps' admin classes share: a base that answers ids out of range as missing,
models staff may only look at, and bulk actions that go through the services one object at a
time, so every rule and audit event holds there too."""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models
from django.db.models import Model
from django.http import HttpRequest


class ConsoleAdmin(admin.ModelAdmin):
    """The console's base of model admins: an id out of the database's integer range names
    nothing (the page says so), rather than failing in the database. Django checks the range
    of a plain integer key itself, not of a key that is a relation (a one-to-one primary key
    such as a workspace's spend limit's)."""

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        field = self.model._meta.get_field(from_field) if from_field else self.model._meta.pk
        target = field.target_field if field.is_relation else field
        if isinstance(target, models.IntegerField):
            try:
                value = int(object_id)
            except (TypeError, ValueError):
                return None
            low, high = connection.ops.integer_field_range(target.get_internal_type())
            if (low is not None and value < low) or (high is not None and value > high):
                return None
        return super().get_object(request, object_id, from_field)


class ReadOnlyAdmin(ConsoleAdmin):
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
