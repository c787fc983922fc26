from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from accounts.admin import KeyAdmin
from accounts.audit import Actor
from console.admin import ReadOnlyAdmin, apply_each
from workspaces import services
from workspaces.models import ApiKey, Workspace, WorkspaceMember


class WorkspaceMemberInline(admin.TabularInline):
    model = WorkspaceMember
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["user", "role", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
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
        if obj is not None and (obj.is_default or obj.is_archived):
            return [*self.readonly_fields, "name", "display_color"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        try:
            services.workspace_update(
                actor=Actor.from_request(request),
                workspace=obj,
                name=form.cleaned_data.get("name"),
                display_color=form.cleaned_data.get("display_color"),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))

    @admin.action(description="Archive selected workspaces (cannot be undone)")
    def archive(self, request, queryset) -> None:
        apply_each(
            request,
            queryset,
            lambda actor, workspace: services.workspace_archive(actor=actor, workspace=workspace),
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
    readonly_fields = ["workspace", "user", "role", "created_at"]


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
    fields = [
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
    ]
    readonly_fields = fields
    key_services = (services.api_key_set_status, services.api_key_delete)
    key_related = ("workspace__organization",)
