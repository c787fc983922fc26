"""Writes about limits and spend notifications: one transaction and one audit event each."""

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import audit, keys
from accounts.audit import Actor
from accounts.models import Organization, OrganizationMember
from accounts.roles import OrgRole, WorkspaceRole
from billing import selectors, usage
from billing.models import (
    GATEWAY_TOKEN_PREFIX,
    GatewayToken,
    Limiter,
    Model,
    ModelGroup,
    OrganizationLimits,
    OrganizationRateLimit,
    SpendNotification,
    SpendNotificationDelivery,
    UsageRecord,
    UsageTier,
    WorkspaceRateLimit,
    WorkspaceSpendLimit,
)
from console.secrets import new_api_secret
from workspaces.models import ApiKey, Workspace, WorkspaceMember
from workspaces.services import ensure_changeable

audit.register_actions(
    {
        "rate_limit.set": "Workspace rate limit set",
        "rate_limit.reset": "Workspace rate limit reset",
        "spend_limit.set": "Spend limit changed",
        "spend_notification.add": "Spend notification added",
        "spend_notification.remove": "Spend notification removed",
        "organization_limits.change": "Organization tier or limits changed by staff",
        "spend_limit.passed": "Spend limit passed by a request that used more than it reserved",
    }
)

logger = logging.getLogger(__name__)

MAX_RATE_LIMIT = 10**12
MAX_AMOUNT_CENTS = 10**13  # $100 billion: beyond any real budget, within the database's range


def _usd(cents: int | None) -> str:
    return "none" if cents is None else f"${cents / 100:,.2f}"


def _clean_limiter(limiter: str) -> str:
    if limiter not in Limiter.values:
        raise ValidationError({"limiter": "Unknown limit type."})
    return limiter


def _clean_positive(value, *, field: str, maximum: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: f"Enter the {what} as a whole number."})
    if value <= 0:
        raise ValidationError({field: f"The {what} must be greater than zero."})
    if value > maximum:
        raise ValidationError({field: f"The {what} is too large."})
    return value


def _lock_workspace(workspace: Workspace) -> Workspace:
    locked = (
        Workspace.objects.select_for_update().select_related("organization").get(pk=workspace.pk)
    )
    if locked.is_default:
        raise ValidationError(
            "The Default workspace has no limits of its own; the organization's apply."
        )
    ensure_changeable(locked)
    return locked


@transaction.atomic
def workspace_rate_limit_set(
    *, actor: Actor, workspace: Workspace, model_group: ModelGroup, limiter: str, value: int
) -> WorkspaceRateLimit:
    """Set a workspace's own limit: a positive whole number, at most the organization's."""
    workspace = _lock_workspace(workspace)
    limiter = _clean_limiter(limiter)
    value = _clean_positive(value, field="value", maximum=MAX_RATE_LIMIT, what="limit")
    row = selectors.effective_limits(workspace).rate_limit(model_group.pk, limiter)
    if row is None:
        raise ValidationError({"value": "This organization has no such limit to lower."})
    if value > row.organization_value:
        raise ValidationError(
            {
                "value": f"A workspace limit can be at most the organization's ({row.organization_value:,})."
            }
        )
    limit, _created = WorkspaceRateLimit.objects.update_or_create(
        workspace=workspace, model_group=model_group, limiter=limiter, defaults={"value": value}
    )
    audit.record(
        actor=actor,
        organization=workspace.organization,
        action="rate_limit.set",
        target_type="workspace",
        target_id=workspace.public_id,
        before={"model_group": model_group.slug, "limiter": limiter, "value": row.workspace_value},
        after={"model_group": model_group.slug, "limiter": limiter, "value": value},
    )
    return limit


@transaction.atomic
def workspace_rate_limit_reset(
    *, actor: Actor, workspace: Workspace, model_group: ModelGroup, limiter: str
) -> None:
    """Remove a workspace's own limit, so the organization's applies again."""
    workspace = _lock_workspace(workspace)
    limiter = _clean_limiter(limiter)
    existing = WorkspaceRateLimit.objects.filter(
        workspace=workspace, model_group=model_group, limiter=limiter
    ).first()
    if existing is None:
        return
    existing.delete()
    audit.record(
        actor=actor,
        organization=workspace.organization,
        action="rate_limit.reset",
        target_type="workspace",
        target_id=workspace.public_id,
        before={"model_group": model_group.slug, "limiter": limiter, "value": existing.value},
        after={"model_group": model_group.slug, "limiter": limiter, "value": None},
    )


@transaction.atomic
def workspace_spend_limit_set(
    *, actor: Actor, workspace: Workspace, amount_cents: int | None
) -> None:
    """Set (or with None remove) a workspace's monthly spend limit, which must be lower than
    the organization's."""
    workspace = _lock_workspace(workspace)
    organization_limit = selectors.organization_settings(
        workspace.organization
    ).effective_spend_limit_cents
    if amount_cents is not None:
        amount_cents = _clean_positive(
            amount_cents, field="amount", maximum=MAX_AMOUNT_CENTS, what="amount"
        )
        if organization_limit is not None and amount_cents >= organization_limit:
            raise ValidationError(
                {
                    "amount": f"A workspace spend limit must be lower than the organization's ({_usd(organization_limit)})."
                }
            )
    before = (
        WorkspaceSpendLimit.objects.filter(workspace=workspace)
        .values_list("amount_cents", flat=True)
        .first()
    )
    if before == amount_cents:
        return
    if amount_cents is None:
        WorkspaceSpendLimit.objects.filter(workspace=workspace).delete()
    else:
        WorkspaceSpendLimit.objects.update_or_create(
            workspace=workspace, defaults={"amount_cents": amount_cents}
        )
    audit.record(
        actor=actor,
        organization=workspace.organization,
        action="spend_limit.set",
        target_type="workspace",
        target_id=workspace.public_id,
        before={"amount_cents": before},
        after={"amount_cents": amount_cents},
    )


def _organization_limits_for_update(organization: Organization) -> OrganizationLimits:
    limits = (
        OrganizationLimits.objects.select_for_update()
        .select_related("tier")
        .filter(organization=organization)
        .first()
    )
    if limits is None:
        limits = OrganizationLimits.objects.create(
            organization=organization, tier=selectors.default_tier()
        )
    return limits


@transaction.atomic
def organization_spend_limit_set(
    *, actor: Actor, organization: Organization, amount_cents: int | None
) -> None:
    """Set (or with None remove) the organization's monthly spend limit, at most its cap."""
    limits = _organization_limits_for_update(organization)
    cap = (
        limits.custom_spend_cap_cents
        if limits.custom_spend_cap_cents is not None
        else limits.tier.monthly_spend_cap_cents
    )
    if amount_cents is not None:
        amount_cents = _clean_positive(
            amount_cents, field="amount", maximum=MAX_AMOUNT_CENTS, what="amount"
        )
        if cap is not None and amount_cents > cap:
            raise ValidationError(
                {
                    "amount": f"The spend limit can be at most your usage tier's monthly cap ({_usd(cap)})."
                }
            )
    before = limits.spend_limit_cents
    if before == amount_cents:
        return
    limits.spend_limit_cents = amount_cents
    limits.save(update_fields=["spend_limit_cents"])
    audit.record(
        actor=actor,
        organization=organization,
        action="spend_limit.set",
        target_type="organization",
        target_id=str(organization.id),
        before={"amount_cents": before},
        after={"amount_cents": amount_cents},
    )


@transaction.atomic
def organization_limits_change(
    *,
    actor: Actor,
    organization: Organization,
    tier: UsageTier | None = None,
    custom_spend_cap_cents: int | None = None,
    clear_custom_cap: bool = False,
    overrides: Iterable[tuple[ModelGroup, str, int | None]] = (),
) -> None:
    """Staff: the organization's tier, custom cap, and rate limit overrides (None removes one)."""
    limits = _organization_limits_for_update(organization)
    before = {"tier": limits.tier.name, "custom_spend_cap_cents": limits.custom_spend_cap_cents}
    if tier is not None:
        limits.tier = tier
    if clear_custom_cap:
        limits.custom_spend_cap_cents = None
    elif custom_spend_cap_cents is not None:
        limits.custom_spend_cap_cents = _clean_positive(
            custom_spend_cap_cents,
            field="custom_spend_cap_cents",
            maximum=MAX_AMOUNT_CENTS,
            what="cap",
        )
    limits.save()
    changed_overrides = []
    for group, limiter, value in overrides:
        limiter = _clean_limiter(limiter)
        if value is None:
            OrganizationRateLimit.objects.filter(
                organization=organization, model_group=group, limiter=limiter
            ).delete()
        else:
            value = _clean_positive(value, field="value", maximum=MAX_RATE_LIMIT, what="limit")
            OrganizationRateLimit.objects.update_or_create(
                organization=organization,
                model_group=group,
                limiter=limiter,
                defaults={"value": value},
            )
        changed_overrides.append([group.slug, limiter, value])
    audit.record(
        actor=actor,
        organization=organization,
        action="organization_limits.change",
        target_type="organization",
        target_id=str(organization.id),
        before=before,
        after={
            "tier": limits.tier.name,
            "custom_spend_cap_cents": limits.custom_spend_cap_cents,
            "overrides": changed_overrides,
        },
    )


@transaction.atomic
def spend_notification_add(
    *, actor: Actor, organization: Organization, workspace: Workspace | None, amount_cents: int
) -> SpendNotification:
    if workspace is not None:
        workspace = _lock_workspace(workspace)
    amount_cents = _clean_positive(
        amount_cents, field="amount", maximum=MAX_AMOUNT_CENTS, what="amount"
    )
    try:
        with transaction.atomic():
            notification = SpendNotification.objects.create(
                organization=organization,
                workspace=workspace,
                amount_cents=amount_cents,
                created_by=actor.user,
            )
    except IntegrityError:
        raise ValidationError(
            {"amount": f"There is already a notification at {_usd(amount_cents)}."}
        ) from None
    audit.record(
        actor=actor,
        organization=organization,
        action="spend_notification.add",
        target_type="workspace" if workspace else "organization",
        target_id=workspace.public_id if workspace else str(organization.id),
        after={"amount_cents": amount_cents},
    )
    return notification


@transaction.atomic
def spend_notification_remove(*, actor: Actor, notification: SpendNotification) -> None:
    if notification.workspace is not None:
        ensure_changeable(notification.workspace)
    workspace = notification.workspace
    audit.record(
        actor=actor,
        organization=notification.organization,
        action="spend_notification.remove",
        target_type="workspace" if workspace else "organization",
        target_id=workspace.public_id if workspace else str(notification.organization_id),
        before={"amount_cents": notification.amount_cents},
    )
    notification.delete()


def notification_recipients(organization: Organization, workspace: Workspace | None) -> list[str]:
    """Who is told about spend: the organization's admins and billing members, and for a
    workspace also its explicit Workspace Admins."""
    emails = set(
        OrganizationMember.objects.filter(
            organization=organization, role__in=[OrgRole.ADMIN, OrgRole.BILLING]
        ).values_list("user__email", flat=True)
    )
    if workspace is not None:
        emails.update(
            WorkspaceMember.objects.filter(
                workspace=workspace, role=WorkspaceRole.ADMIN
            ).values_list("user__email", flat=True)
        )
    return sorted(emails)


def spend_notifications_check(
    *, organization: Organization, workspace: Workspace | None = None, now: datetime | None = None
) -> int:
    """Send the notifications whose amount month-to-date spend has reached, once per
    notification per calendar month (UTC). Returns how many were sent.

    Each is claimed by inserting its delivery row for the month (unique), so concurrent
    checks never send one twice; the e-mail goes out after that commits.
    """
    now = now or timezone.now()
    month = selectors.month_start(now)
    spend = selectors.month_to_date_spend(organization, workspace, now=now)
    due = (
        SpendNotification.objects.filter(
            organization=organization, workspace=workspace, amount_cents__lte=spend
        )
        .exclude(deliveries__month=month)
        .select_related("workspace")
    )
    sent = 0
    for notification in due:
        recipients = notification_recipients(organization, workspace)
        context = {
            "notification": notification,
            "organization": organization,
            "workspace": workspace,
            "spend_cents": spend,
            "month": month,
        }
        # Claimed and sent in one transaction: a concurrent check waits for the claim and
        # then finds it; an e-mail that fails rolls its claim back, so the next check (the
        # worker runs one periodically) sends it again. One failure stops no other.
        try:
            with transaction.atomic():
                SpendNotificationDelivery.objects.create(
                    notification=notification, month=month, sent_at=now
                )
                _send_spend_email(context, recipients)
        except IntegrityError:
            continue
        except Exception:
            logger.exception("Spend notification %s could not be sent.", notification.pk)
            continue
        sent += 1
    return sent


def _send_spend_email(context: dict, recipients: list[str]) -> None:
    scope = context["workspace"].name if context["workspace"] else context["organization"].name
    send_mail(
        # One line whatever the names hold: a line break in a header is refused.
        subject=" ".join(
            f"{scope} has spent {_usd(context['notification'].amount_cents)} this month".split()
        ),
        message=render_to_string("billing/email/spend_notification.txt", context),
        from_email=None,
        recipient_list=recipients,
    )


def spend_notifications_send_due(*, now: datetime | None = None) -> int:
    """Check every scope with a notification not sent this month (those whose e-mail failed
    before included). Returns how many were sent."""
    now = now or timezone.now()
    month = selectors.month_start(now)
    scopes = (
        SpendNotification.objects.exclude(deliveries__month=month)
        .values_list("organization_id", "workspace_id")
        .distinct()
    )
    organizations = Organization.objects.in_bulk({org for org, _ws in scopes})
    workspaces = Workspace.objects.in_bulk({ws for _org, ws in scopes if ws is not None})
    sent = 0
    for organization_id, workspace_id in scopes:
        sent += spend_notifications_check(
            organization=organizations[organization_id],
            workspace=workspaces.get(workspace_id) if workspace_id is not None else None,
            now=now,
        )
    return sent


def spend_limit_passed_record(
    *, organization_id: str, workspace_id: int, request_id: str, overage: dict
) -> None:
    """Audit a settle whose usage, above what it reserved, passed a spend limit."""
    workspace = Workspace.objects.select_related("organization").get(pk=workspace_id)
    audit.record(
        actor=Actor.system("gateway"),
        organization=workspace.organization,
        action="spend_limit.passed",
        target_type="workspace",
        target_id=workspace.public_id,
        after={"request_id": request_id, **overage},
    )


# -- Usage ----------------------------------------------------------------------------------


def usage_record(
    *, api_key: ApiKey, model: Model, tokens: dict[str, int], at: datetime | None = None
) -> UsageRecord:
    """Record one request's usage directly (without a reservation), priced from the catalog."""
    with transaction.atomic():
        return usage.record(api_key=api_key, model=model, tokens=tokens, at=at)


def usage_cost_cents(model: Model, tokens: dict[str, int]) -> Decimal:
    return usage.cost_cents(model, tokens)


# -- Gateway tokens ----------------------------------------------------------------------------


def gateway_token_create(
    *, name: str, created_by=None, organization: Organization | None = None
) -> tuple[GatewayToken, str]:
    """A token for the operator's gateway, for every organization or (`organization`) for
    one only. Returns it with its secret, shown once."""
    name = keys.clean_name(name)
    secret, hint, digest = new_api_secret(GATEWAY_TOKEN_PREFIX)
    token = GatewayToken.objects.create(
        name=name, hint=hint, secret_hash=digest, created_by=created_by, organization=organization
    )
    return token, secret
