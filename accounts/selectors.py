"""Reads about users, organizations, members, invites and the audit trail."""

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import AuditEvent, Invite, Organization, OrganizationMember, User


def current_member(user: User, organization_id: str | None) -> OrganizationMember | None:
    """The user's membership in the chosen organization, else in their oldest one."""
    memberships = OrganizationMember.objects.filter(user=user).select_related("organization")
    if organization_id:
        try:
            chosen = memberships.filter(organization_id=organization_id).first()
        except Exception:  # a malformed UUID left in the session
            chosen = None
        if chosen is not None:
            return chosen
    return memberships.order_by("created_at", "id").first()


def user_organizations(user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(members__user=user).order_by("name")


def organization_members(organization: Organization) -> QuerySet[OrganizationMember]:
    return (
        OrganizationMember.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__name", "user__email")
    )


def pending_invites(organization: Organization) -> QuerySet[Invite]:
    return (
        Invite.objects.filter(organization=organization)
        .pending()
        .select_related("invited_by")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor: str = ""  # a user's public id


def audit_events(organization: Organization, filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(organization=organization).select_related("actor")
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.actor:
        events = events.filter(actor__public_id=filters.actor)
    return events.order_by("-id")
