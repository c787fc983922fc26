from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError

from accounts import services
from accounts.audit import Actor
from accounts.models import (
    AdminApiKey,
    AuditEvent,
    Invite,
    KeyStatus,
    Organization,
    OrganizationMember,
    User,
)
from console.admin import ReadOnlyAdmin, apply_each


class MembershipInline(admin.TabularInline):
    model = OrganizationMember
    extra = 0
    fields = ["organization", "role", "created_at"]
    readonly_fields = ["organization", "role", "created_at"]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "public_id", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name", "public_id"]
    readonly_fields = ["public_id", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password", "public_id"]}),
        ("Profile", {"fields": ["name"]}),
        (
            "Access",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "password1", "password2"]})
    ]
    inlines = [MembershipInline]


class MemberInline(admin.TabularInline):
    model = OrganizationMember
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["user", "role", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "created_at"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_at"]
    inlines = [MemberInline]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            raise ValidationError("Create organizations with `manage.py create_organization`.")
        services.organization_rename(
            actor=Actor.from_request(request), organization=obj, name=form.cleaned_data["name"]
        )

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(OrganizationMember)
class OrganizationMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__name", "organization__name"]
    list_select_related = ["user", "organization"]
    readonly_fields = ["organization", "user", "created_at"]
    fields = ["organization", "user", "role", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        try:
            services.member_change_role(
                actor=Actor.from_request(request),
                member=OrganizationMember.objects.get(pk=obj.pk),
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))

    def delete_model(self, request, obj) -> None:
        try:
            services.member_remove(actor=Actor.from_request(request), member=obj)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))

    def has_delete_permission(self, request, obj=None) -> bool:
        # Bulk deletes would skip the service's last-admin rule; delete one at a time.
        return obj is not None and super().has_delete_permission(request, obj)


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
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
    def revoke(self, request, queryset) -> None:
        apply_each(
            request,
            queryset.select_related("organization"),
            lambda actor, invite: services.invite_revoke(actor=actor, invite=invite),
            name=lambda invite: invite.email,
            done="Revoked",
            noun="invite",
        )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "organization",
        "actor_label",
        "action",
        "target_type",
        "target_id",
    ]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_label", "target_id", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"


class KeyAdmin(ReadOnlyAdmin):
    """Workspace API keys and Admin API keys: never edited here (the secret's hash is never
    shown); disabled, enabled and deleted through their kind's services (`key_services`:
    set_status, delete), so counts and the audit trail stay right."""

    actions = ["disable", "enable", "delete_keys"]
    key_services: tuple[Callable[..., Any], Callable[..., Any]]
    key_related: tuple[str, ...] = ()

    def _each(self, request, queryset, change, done: str) -> None:
        apply_each(
            request,
            queryset.select_related(*self.key_related),
            change,
            name=lambda key: key.name,
            done=done,
            noun="key",
        )

    def _set_status(self, request, queryset, status: str, done: str) -> None:
        set_status = self.key_services[0]
        self._each(
            request,
            queryset,
            lambda actor, key: set_status(actor=actor, key=key, status=status),
            done,
        )

    @admin.action(description="Disable selected keys")
    def disable(self, request, queryset) -> None:
        self._set_status(request, queryset, KeyStatus.INACTIVE, "Disabled")

    @admin.action(description="Enable selected keys")
    def enable(self, request, queryset) -> None:
        self._set_status(request, queryset, KeyStatus.ACTIVE, "Enabled")

    @admin.action(description="Delete selected keys (permanent)")
    def delete_keys(self, request, queryset) -> None:
        delete = self.key_services[1]
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
    fields = [
        "public_id",
        "name",
        "hint",
        "organization",
        "status",
        "created_by",
        "created_at",
        "last_used_at",
    ]
    readonly_fields = fields
    key_services = (services.admin_key_set_status, services.admin_key_delete)
    key_related = ("organization",)
