"""The staff admin of the organization's records: organizations, their members and invites,
Admin keys, workspaces, workspace members and API keys. Every change asks `staff_access`
first, then goes through the services, so workspace state and every rule and audit event
hold here too."""

from collections.abc import Callable
from typing import Any, NamedTuple

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services as account_services
from accounts.audit import Actor
from accounts.models import (
    AdminApiKey,
    Invite,
    Organization,
    OrganizationMember,
    SecretKey,
)
from console.admin import ConsoleAdmin, ReadOnlyAdmin, apply_each
from workspaces import services
from workspaces.access import BaseAccess, staff_access
from workspaces.models import ApiKey, Workspace, WorkspaceMember


def _through_service(request: HttpRequest, change: Callable[[Actor], object]) -> None:
    """Run a service for the signed-in staff member; what it refuses is an error message."""
    try:
        change(Actor.from_request(request))
    except (ValidationError, PermissionDenied) as error:
        messages.error(
            request, " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        )


class MemberInline(admin.TabularInline):
    model = OrganizationMember
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["user", "role", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(ConsoleAdmin):
    list_display = ["name", "id", "created_at"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_at"]
    inlines = [MemberInline]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            raise ValidationError("Create organizations with `manage.py organization_create`.")
        staff_access(request.user).require("org.edit")
        account_services.organization_rename(
            actor=Actor.from_request(request), organization=obj, name=form.cleaned_data["name"]
        )

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(OrganizationMember)
class OrganizationMemberAdmin(ConsoleAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__name", "organization__name"]
    list_select_related = ["user", "organization"]
    readonly_fields = ["organization", "user", "created_at"]
    fields = ["organization", "user", "role", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        def change_role(actor: Actor) -> None:
            staff_access(request.user).require("org.members.manage")
            account_services.member_change_role(
                actor=actor,
                member=OrganizationMember.objects.get(pk=obj.pk),
                role=form.cleaned_data["role"],
            )

        _through_service(request, change_role)

    def delete_model(self, request, obj) -> None:
        def remove(actor: Actor) -> None:
            staff_access(request.user).require("org.members.manage")
            account_services.member_remove(actor=actor, member=obj)

        _through_service(request, remove)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Bulk deletes would skip the service's last-admin rule; delete one at a time.
        return obj is not None and super().has_delete_permission(request, obj)


@admin.register(Invite)
class InviteAdmin(ConsoleAdmin):
    list_display = ["email", "organization", "role", "status", "created_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "organization__name", "public_id"]
    list_select_related = ["organization"]
    exclude = ["token_hash"]
    readonly_fields = [
        "public_id",
        "organization",
        "email",
        "role",
        "status",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke selected invites")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invite]) -> None:
        staff_access(request.user).require("org.invites.manage")
        actor = Actor.from_request(request)
        apply_each(
            request,
            queryset.select_related("organization"),
            lambda invite: account_services.invite_revoke(actor=actor, invite=invite),
            name=lambda invite: invite.email,
            done="Revoked",
            noun="invite",
        )


class KeyServices(NamedTuple):
    """A kind of key's own services, each taking `actor` and `key`."""

    disable: Callable[..., Any]
    enable: Callable[..., Any]
    delete: Callable[..., Any]


class KeyAdmin(ReadOnlyAdmin):
    """API keys, Admin API keys and gateway tokens: never edited here (the secret's hash is
    never shown); disabled, enabled and deleted through their kind's services
    (`key_services`) once staff access grants `capability`, so counts and the audit trail
    stay right."""

    actions = ["disable", "enable", "delete_keys"]
    capability: str
    key_services: KeyServices
    key_related: tuple[str, ...] = ()

    def key_access(self, request: HttpRequest, key: Any) -> BaseAccess:
        """Staff access where `key` lives."""
        return staff_access(request.user)

    def _each(self, request, queryset, change: Callable[[Actor, Any], object], done: str) -> None:
        actor = Actor.from_request(request)

        def checked(key: SecretKey) -> None:
            self.key_access(request, key).require(self.capability)
            change(actor, key)

        if self.key_related:
            queryset = queryset.select_related(*self.key_related)
        apply_each(
            request,
            queryset,
            checked,
            name=lambda key: key.name,
            done=done,
            noun="key",
        )

    @admin.action(description="Disable selected keys")
    def disable(self, request, queryset) -> None:
        disable = self.key_services.disable
        self._each(request, queryset, lambda actor, key: disable(actor=actor, key=key), "Disabled")

    @admin.action(description="Enable selected keys")
    def enable(self, request, queryset) -> None:
        enable = self.key_services.enable
        self._each(request, queryset, lambda actor, key: enable(actor=actor, key=key), "Enabled")

    @admin.action(description="Delete selected keys (permanent)")
    def delete_keys(self, request, queryset) -> None:
        delete = self.key_services.delete
        self._each(request, queryset, lambda actor, key: delete(actor=actor, key=key), "Deleted")


@admin.register(AdminApiKey)
class AdminApiKeyAdmin(KeyAdmin):
    list_display = [
        "name",
        "hint",
        "organization",
        "status",
        "created_by",
        "created_at",
        "last_used_at",
    ]
    list_filter = ["status"]
    search_fields = ["name", "public_id", "hint", "organization__name"]
    list_select_related = ["organization", "created_by"]
    fields = readonly_fields = (
        "public_id",
        "name",
        "hint",
        "organization",
        "status",
        "created_by",
        "created_at",
        "last_used_at",
    )
    capability = "adminkeys.manage"
    key_services = KeyServices(
        disable=account_services.admin_key_disable,
        enable=account_services.admin_key_enable,
        delete=account_services.admin_key_delete,
    )
    key_related = ("organization",)


class WorkspaceMemberInline(admin.TabularInline):
    model = WorkspaceMember
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["user", "role", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Workspace)
class WorkspaceAdmin(ConsoleAdmin):
    list_display = ["name", "organization", "public_id", "is_default", "created_at", "archived_at"]
    list_filter = ["is_default", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "public_id", "organization__name"]
    list_select_related = ["organization"]
    readonly_fields = [
        "public_id",
        "organization",
        "is_default",
        "created_by",
        "created_at",
        "archived_at",
    ]
    fields = [
        "public_id",
        "organization",
        "name",
        "display_color",
        "is_default",
        "created_by",
        "created_at",
        "archived_at",
    ]
    inlines = [WorkspaceMemberInline]
    actions = ["archive"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not staff_access(request.user, obj).can("workspace.edit"):
            return [*self.readonly_fields, "name", "display_color"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        def edit(actor: Actor) -> None:
            staff_access(request.user, obj).require("workspace.edit")
            services.workspace_edit(
                actor=actor,
                workspace=obj,
                name=form.cleaned_data.get("name"),
                display_color=form.cleaned_data.get("display_color"),
            )

        _through_service(request, edit)

    @admin.action(description="Archive selected workspaces (cannot be undone)")
    def archive(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        actor = Actor.from_request(request)

        def archive_one(workspace: Workspace) -> None:
            staff_access(request.user, workspace).require("workspace.archive")
            services.workspace_archive(actor=actor, workspace=workspace)

        apply_each(
            request,
            queryset,
            archive_one,
            name=lambda workspace: workspace.name,
            done="Archived",
            noun="workspace",
        )


@admin.register(WorkspaceMember)
class WorkspaceMemberAdmin(ReadOnlyAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "workspace__name", "workspace__public_id"]
    list_select_related = ["user", "workspace"]
    readonly_fields = ["workspace", "user", "organization_member", "role", "created_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(KeyAdmin):
    list_display = [
        "name",
        "hint",
        "workspace",
        "organization",
        "status",
        "created_by",
        "created_at",
        "last_used_at",
    ]
    list_filter = ["status"]
    search_fields = ["name", "public_id", "hint", "workspace__name", "organization__name"]
    list_select_related = ["workspace", "organization", "created_by"]
    # The hash is never shown; the workspace is fixed at creation.
    fields = readonly_fields = (
        "public_id",
        "name",
        "hint",
        "organization",
        "workspace",
        "status",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
    )
    capability = "keys.manage"
    key_services = KeyServices(
        disable=services.api_key_disable,
        enable=services.api_key_enable,
        delete=services.api_key_delete,
    )
    key_related = ("workspace__organization",)

    def key_access(self, request: HttpRequest, key: ApiKey) -> BaseAccess:
        return staff_access(request.user, key.workspace)
