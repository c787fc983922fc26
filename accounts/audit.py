"""The audit trail: every service records one event in its own transaction."""

from dataclasses import dataclass
from typing import Any, Protocol

from django.db import models
from django.http import HttpRequest

from accounts.models import AuditEvent, AuditTarget, User


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an Admin API key, or a command run by staff."""

    user: User | None
    label: str
    ip_address: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> "Actor":
        user = request.user if isinstance(request.user, User) else None
        return cls(
            user=user,
            label=user.email if user else "anonymous",
            ip_address=request.META.get("REMOTE_ADDR") or None,
        )

    @classmethod
    def for_user(cls, user: User) -> "Actor":
        return cls(user=user, label=user.email)

    @classmethod
    def system(cls, label: str) -> "Actor":
        return cls(user=None, label=label)


# Every action the trail knows, with the label the audit log shows.
ACTIONS: dict[str, str] = {
    "organization.create": "Organization created",
    "organization.rename": "Organization renamed",
    "member.change_role": "Member role changed",
    "member.remove": "Member removed",
    "member.sign_out": "Member signed out everywhere",
    "invite.create": "Invite sent",
    "invite.revoke": "Invite revoked",
    "invite.resend": "Invite sent again",
    "invite.accept": "Invite accepted",
}


def register_actions(actions: dict[str, str]) -> None:
    """Apps add their actions at import time of their services module."""
    ACTIONS.update(actions)


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """The named fields of `instance` as JSON-ready values, for an event's before/after."""
    values: dict[str, Any] = {}
    for field in fields:
        value = getattr(instance, field)
        values[field] = (
            value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        )
    return values


class Auditable(Protocol):
    """An object the trail can name (each audited model says how)."""

    @property
    def audit_target(self) -> AuditTarget: ...


def record(
    actor: Actor,
    action: str,
    *,
    target: Auditable,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record that `actor` did `action` to `target`, in the trail of the target's
    organization."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}.")
    named = target.audit_target
    return AuditEvent.objects.create(
        organization_id=named.organization_id,
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        target_type=named.type,
        target_id=named.id,
        before=before,
        after=after,
        ip_address=actor.ip_address,
    )
