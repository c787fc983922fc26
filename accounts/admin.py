"""The staff admin of users and of the audit trail. The organization's own records (the
organization, its members, invites and Admin keys) are changed through services after asking
the access module, so their admin is in `workspaces.admin`."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import outbox, services
from accounts.audit import Actor
from accounts.models import AuditEvent, EmailStatus, OrganizationMember, OutgoingEmail, User
from console.admin import ReadOnlyAdmin


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

    def save_model(self, request, obj, form, change) -> None:
        """A change of `is_active` goes through its service, which stops (or restores) the
        Admin keys the person created and records it."""
        if not change or "is_active" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        active = obj.is_active
        obj.is_active = not active  # as it was; the service changes it
        super().save_model(request, obj, form, change)
        services.user_set_active(actor=Actor.from_request(request), user=obj, active=active)
        obj.is_active = active


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


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnlyAdmin):
    """E-mails the console sent or is still trying to send (`accounts.outbox`): one that the
    mail server refused shows here with its error until a later try delivers it."""

    list_display = ["created_at", "composer", "about", "status", "attempts", "next_attempt_at"]
    list_filter = ["status"]
    search_fields = ["about", "composer"]
    readonly_fields = [
        "composer",
        "about",
        "status",
        "created_at",
        "attempts",
        "next_attempt_at",
        "last_error",
        "sent_at",
    ]
    actions = ["send_now"]

    @admin.action(description="Try the selected e-mails again now")
    def send_now(self, request: HttpRequest, queryset: QuerySet[OutgoingEmail]) -> None:
        pending = queryset.filter(status=EmailStatus.PENDING).values_list("pk", flat=True)
        sent = sum(outbox.send(pk) for pk in pending)
        messages.info(request, f"Sent {sent} of {len(pending)} pending e-mail(s).")
