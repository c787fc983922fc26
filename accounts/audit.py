"""The audit trail: every service records one event in its own transaction.

Each app registers its actions (`register_actions`), how each reads in words
(`register_descriptions`: "Spend limit set to $300.00", from the event's before and after), and
how its kinds of target are named on a page (`register_target_namers`), so Settings > Audit
log reads as sentences about named things rather than ids and field dumps.
"""

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
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


# How each action reads, from the event's before and after values.
Describe = Callable[[dict[str, Any], dict[str, Any]], str]
DESCRIPTIONS: dict[str, Describe] = {}


def register_descriptions(descriptions: dict[str, Describe]) -> None:
    """Apps say how their actions read (their `audit_text` modules, loaded when they are)."""
    DESCRIPTIONS.update(descriptions)


def describe(event: AuditEvent) -> str:
    """The event's change in words. An action without a description (a test forbids it)
    reads as its label."""
    describer = DESCRIPTIONS.get(event.action)
    if describer is None:
        return ACTIONS.get(event.action, event.action)
    try:
        return describer(event.before or {}, event.after or {})
    except (KeyError, TypeError, ValueError, AttributeError):
        # An event written before its action's values took today's shape.
        return ACTIONS.get(event.action, event.action)


@dataclass(frozen=True)
class TargetName:
    """How the audit log names an event's target: its name, and where it can be seen (None
    when it no longer exists)."""

    name: str
    url: str | None = None


@dataclass(frozen=True)
class TargetNamer:
    """A kind of target's names: `name(organization_id, ids)` names those that still exist
    (one query), `search(organization_id, text)` is the condition on `AuditEvent` finding the
    events whose target of this kind is named like `text` (a subquery, no query of its own)."""

    name: Callable[[uuid.UUID, set[str]], dict[str, TargetName]]
    search: Callable[[uuid.UUID, str], models.Q] | None = None


TARGET_NAMERS: dict[str, TargetNamer] = {}


def register_target_namers(namers: dict[str, TargetNamer]) -> None:
    TARGET_NAMERS.update(namers)


# Where an event whose target is gone finds the name it had.
_REMEMBERED_NAME_FIELDS = ("name", "email")


def target_names(
    organization_id: uuid.UUID, events: Iterable[AuditEvent]
) -> dict[tuple[str, str], TargetName]:
    """The name (and link) of each event's target, by (type, id): one query per kind of
    target among `events`. A target that is gone keeps the name its events remember."""
    events = list(events)
    wanted: dict[str, set[str]] = defaultdict(set)
    for event in events:
        wanted[event.target_type].add(event.target_id)
    names: dict[tuple[str, str], TargetName] = {}
    for target_type, ids in wanted.items():
        namer = TARGET_NAMERS.get(target_type)
        if namer is not None:
            for target_id, name in namer.name(organization_id, ids).items():
                names[(target_type, target_id)] = name
    for event in events:
        key = (event.target_type, event.target_id)
        if key in names:
            continue
        remembered = next(
            (
                values[field]
                for values in (event.after or {}, event.before or {})
                for field in _REMEMBERED_NAME_FIELDS
                if isinstance(values.get(field), str)
            ),
            None,
        )
        names[key] = TargetName(remembered or event.target_id)
    return names


def target_search(organization_id: uuid.UUID, text: str) -> models.Q:
    """Events whose target, of any kind, is named like `text` now."""
    condition = models.Q(target_id__icontains=text)
    for target_type, namer in TARGET_NAMERS.items():
        if namer.search is not None:
            condition |= models.Q(target_type=target_type) & namer.search(organization_id, text)
    return condition


def actions_named_like(text: str) -> list[str]:
    """The actions whose code or label contains `text` (in any case)."""
    text = text.lower()
    return [code for code, label in ACTIONS.items() if text in code or text in label.lower()]


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
