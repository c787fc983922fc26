"""Reads about users, organizations, members, invites and the audit trail."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from accounts import audit
from accounts.models import (
    LISTED_INVITE_STATUSES,
    AuditEvent,
    Invite,
    Organization,
    OrganizationMember,
    User,
)


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


def invites(
    organization: Organization,
    *,
    statuses: Iterable[str] = (),
    email: str = "",
    roles: Iterable[str] = (),
) -> QuerySet[Invite]:
    """The organization's invites of the given statuses (by default pending, accepted and
    expired: revoked ones are gone), for `email` and of `roles` when given."""
    found = Invite.objects.filter(organization=organization).with_status(
        list(statuses) or LISTED_INVITE_STATUSES
    )
    if email:
        found = found.filter(email__iexact=email.strip())
    roles = list(roles)
    if roles:
        found = found.filter(role__in=roles)
    return found


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor: str = ""  # a user's public id
    search: str = ""  # the actor, the action or the target, named like this
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def audit_events(organization: Organization, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The organization's trail, newest first (by id), filtered; one query for a page."""
    events = AuditEvent.objects.filter(organization=organization).select_related("actor")
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.actor:
        events = events.filter(actor__public_id=filters.actor)
    if filters.since is not None:
        events = events.filter(created_at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(created_at__lt=filters.until)
    if filters.search:
        text = filters.search
        events = events.annotate(
            before_text=Cast("before", TextField()), after_text=Cast("after", TextField())
        ).filter(
            Q(actor_label__icontains=text)
            | Q(actor__name__icontains=text)
            | Q(actor__email__icontains=text)
            | Q(action__in=audit.actions_named_like(text))
            | audit.target_search(organization.pk, text)
            | Q(before_text__icontains=text)
            | Q(after_text__icontains=text)
        )
    return events.order_by("-id")
