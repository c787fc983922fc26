"""Writes about limits and spend notifications: one transaction and one audit event each."""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import audit, keys, outbox
from accounts.audit import Actor
from accounts.models import KeyStatus, Organization, OrganizationMember
from accounts.roles import INHERITING_ORG_ROLES, WorkspaceRole
from billing import money, selectors
from billing.models import (
    INCREASE_REQUEST_LIFETIME_DAYS,
    GatewayToken,
    IncreaseRequestStatus,
    Limiter,
    ModelGroup,
    OrganizationLimits,
    OrganizationRateLimit,
    RateLimitType,
    SpendLimitIncreaseRequest,
    SpendLimitPeriod,
    SpendLimitScope,
    SpendNotification,
    SpendNotificationDelivery,
    UsageTier,
    WorkspaceRateLimit,
    WorkspaceSpendLimit,
)
from console.secrets import new_api_secret
from console.validation import check_text
from workspaces.access import ensure_state_allows, organization_roles_with
from workspaces.models import Workspace, WorkspaceMember
from workspaces.services import lock_workspace_for

audit.register_actions(
    {
        "workspace_rate_limit.set": "Workspace rate limit set",
        "workspace_rate_limit.reset": "Workspace rate limit reset",
        "workspace_spend_limit.set": "Workspace spend limit changed",
        "workspace_spend_limit.reset": "Workspace spend limit reset",
        "organization_spend_limit.set": "Organization spend limit changed",
        "spend_notification.add": "Spend notification added",
        "spend_notification.remove": "Spend notification removed",
        "organization_limits.change": "Organization tier or limits changed by staff",
        "gateway_token.create": "Gateway token created",
        "gateway_token.disable": "Gateway token disabled",
        "gateway_token.enable": "Gateway token enabled",
        "gateway_token.delete": "Gateway token deleted",
        "spend_limit.passed": "Spend limit passed by a request that used more than it reserved",
    }
)

logger = logging.getLogger(__name__)

MAX_RATE_LIMIT = 10**12
MAX_AMOUNT_CENTS = 10**13  # $100 billion: beyond any real budget, within the database's range


def _usd(cents: int | None) -> str:
    return "none" if cents is None else money.usd(cents)


def _clean_limiter(limiter: str) -> str:
    if limiter not in Limiter.values:
        raise ValidationError({"limiter": "Unknown limit type."})
    return limiter


# Anthropic's name for an input-tokens limit that cache reads do not count toward: the
# input limit of every model group whose cache reads are not counted as input.
CACHE_AWARE_INPUT = RateLimitType.INPUT_TOKENS_PER_MINUTE_CACHE_AWARE
# The limit types of Anthropic's API that Console enforces.
ENFORCED_RATE_LIMIT_TYPES = (*(RateLimitType(limiter) for limiter in Limiter), CACHE_AWARE_INPUT)


def limiter_type_name(limiter: str, model_group: ModelGroup) -> str:
    """The limit's type as Anthropic's API names it for this model group."""
    if limiter == Limiter.INPUT_TOKENS_PER_MINUTE and not model_group.cache_reads_count_as_input:
        return CACHE_AWARE_INPUT
    return limiter


def limiter_for_type(type_name: str, model_group: ModelGroup) -> str:
    """The limiter Console enforces for a limit type of Anthropic's API; refused when
    Console enforces no such limit."""
    if type_name in Limiter.values:
        return type_name
    if type_name == CACHE_AWARE_INPUT:
        if model_group.cache_reads_count_as_input:
            raise ValidationError(
                {
                    "type": ValidationError(
                        f"{model_group.name} counts cache reads toward its input limit, so it "
                        "has no cache-aware input limit; use input_tokens_per_minute.",
                        code="unsupported_limit_type",
                    )
                }
            )
        return Limiter.INPUT_TOKENS_PER_MINUTE
    supported = ", ".join(ENFORCED_RATE_LIMIT_TYPES)
    raise ValidationError(
        {
            "type": ValidationError(
                f"Console does not enforce {type_name[:60]} limits; it enforces {supported}.",
                code="unsupported_limit_type",
            )
        }
    )


def _clean_positive(value: object, *, field: str, maximum: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: f"Enter the {what} as a whole number."})
    if value <= 0:
        raise ValidationError({field: f"The {what} must be greater than zero."})
    if value > maximum:
        raise ValidationError({field: f"The {what} is too large."})
    return value


@transaction.atomic
def workspace_rate_limit_set(
    *, actor: Actor, workspace: Workspace, model_group: ModelGroup, limiter: str, value: int
) -> WorkspaceRateLimit:
    """Set a workspace's own limit: a positive whole number, at most the organization's."""
    workspace = lock_workspace_for("limits.edit", workspace)
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
        actor,
        "workspace_rate_limit.set",
        target=workspace,
        before={"model_group": model_group.slug, "limiter": limiter, "value": row.workspace_value},
        after={"model_group": model_group.slug, "limiter": limiter, "value": value},
    )
    return limit


@transaction.atomic
def workspace_rate_limits_update(
    *,
    actor: Actor,
    workspace: Workspace,
    model_group: ModelGroup,
    limits: list[tuple[str, int | None]],
) -> None:
    """Set (a value) or reset (None) several limits of one model group, named as Anthropic's
    API names them: all of them, or none when any is refused."""
    changes = [(limiter_for_type(name, model_group), value) for name, value in limits]
    limiters = [limiter for limiter, _value in changes]
    if len(set(limiters)) != len(limiters):
        raise ValidationError({"limits": "Give each limit type once."})
    for limiter, value in changes:
        if value is None:
            workspace_rate_limit_reset(
                actor=actor, workspace=workspace, model_group=model_group, limiter=limiter
            )
        else:
            workspace_rate_limit_set(
                actor=actor,
                workspace=workspace,
                model_group=model_group,
                limiter=limiter,
                value=value,
            )


@transaction.atomic
def workspace_rate_limit_reset(
    *, actor: Actor, workspace: Workspace, model_group: ModelGroup, limiter: str
) -> None:
    """Remove a workspace's own limit, so the organization's applies again."""
    workspace = lock_workspace_for("limits.edit", workspace)
    limiter = _clean_limiter(limiter)
    existing = WorkspaceRateLimit.objects.filter(
        workspace=workspace, model_group=model_group, limiter=limiter
    ).first()
    if existing is None:
        return
    existing.delete()
    audit.record(
        actor,
        "workspace_rate_limit.reset",
        target=workspace,
        before={"model_group": model_group.slug, "limiter": limiter, "value": existing.value},
        after={"model_group": model_group.slug, "limiter": limiter, "value": None},
    )


@transaction.atomic
def workspace_spend_limit_set(
    *, actor: Actor, workspace: Workspace, amount_cents: int | None
) -> None:
    """Set (or with None remove) a workspace's monthly spend limit, which must be lower than
    the organization's."""
    workspace = lock_workspace_for("limits.edit", workspace)
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
        actor,
        "workspace_spend_limit.set",
        target=workspace,
        before={"amount_cents": before},
        after={"amount_cents": amount_cents},
    )


@transaction.atomic
def workspace_spend_limit_reset(*, actor: Actor, workspace: Workspace) -> None:
    """Remove a workspace's own monthly spend limit (the refresh icon), so the
    organization's applies again."""
    workspace = lock_workspace_for("limits.edit", workspace)
    existing = WorkspaceSpendLimit.objects.filter(workspace=workspace).first()
    if existing is None:
        return
    existing.delete()
    audit.record(
        actor,
        "workspace_spend_limit.reset",
        target=workspace,
        before={"amount_cents": existing.amount_cents},
        after={"amount_cents": None},
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
    now = timezone.now()
    limits.spend_limit_cents = amount_cents
    limits.spend_limit_created_at = (
        None if amount_cents is None else (limits.spend_limit_created_at or now)
    )
    limits.spend_limit_updated_at = None if amount_cents is None else now
    limits.save(
        update_fields=["spend_limit_cents", "spend_limit_created_at", "spend_limit_updated_at"]
    )
    audit.record(
        actor,
        "organization_spend_limit.set",
        target=organization,
        before={"amount_cents": before},
        after={"amount_cents": amount_cents},
    )


def _check_period(period: str) -> None:
    if period != SpendLimitPeriod.MONTHLY:
        raise ValidationError(
            {
                "period": ValidationError(
                    f"Console's spend limits are monthly; it has no {period[:20]} limits.",
                    code="unsupported_period",
                )
            }
        )


@transaction.atomic
def spend_limit_set(
    *,
    actor: Actor,
    organization: Organization,
    scope_type: str,
    workspace: Workspace | None = None,
    amount_cents: int | None,
    period: str = SpendLimitPeriod.MONTHLY,
) -> None:
    """Set a spend limit as the Spend Limits API names them, by scope and period: the
    organization's or a workspace's monthly limit. The usage tier's cap is set by staff
    (`organization_limits_change`), and a limit always carries an amount: removing one is
    `spend_limit_delete`."""
    _check_period(period)
    _check_settable_scope(scope_type, "changed")
    if amount_cents is None:
        raise ValidationError(
            {"amount": "A spend limit always carries an amount; delete the limit to remove it."}
        )
    if scope_type == SpendLimitScope.WORKSPACE:
        if workspace is None or workspace.organization_id != organization.pk:
            raise ValidationError({"scope": "Name a workspace of this organization."})
        workspace_spend_limit_set(actor=actor, workspace=workspace, amount_cents=amount_cents)
    else:
        organization_spend_limit_set(
            actor=actor, organization=organization, amount_cents=amount_cents
        )


@transaction.atomic
def spend_limit_delete(
    *,
    actor: Actor,
    organization: Organization,
    scope_type: str,
    workspace: Workspace | None = None,
) -> None:
    """Remove the organization's or a workspace's monthly spend limit; the usage tier's cap
    cannot be removed."""
    _check_settable_scope(scope_type, "deleted")
    if scope_type == SpendLimitScope.WORKSPACE:
        if workspace is None or workspace.organization_id != organization.pk:
            raise ValidationError({"scope": "Name a workspace of this organization."})
        workspace_spend_limit_set(actor=actor, workspace=workspace, amount_cents=None)
    else:
        organization_spend_limit_set(actor=actor, organization=organization, amount_cents=None)


def _check_settable_scope(scope_type: str, what: str) -> None:
    if scope_type == SpendLimitScope.USAGE_TIER:
        raise ValidationError(
            f"The usage tier's monthly cap is set by staff and cannot be {what} here.",
            code="read_only_spend_limit",
        )
    if scope_type not in (SpendLimitScope.ORGANIZATION, SpendLimitScope.WORKSPACE):
        raise ValidationError(
            {
                "scope": ValidationError(
                    "Console's spend limits are the organization's and its workspaces'; it "
                    f"has no {scope_type[:30]} limits.",
                    code="unsupported_scope",
                )
            }
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
        actor,
        "organization_limits.change",
        target=organization,
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
        workspace = lock_workspace_for("limits.edit", workspace)
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
        actor,
        "spend_notification.add",
        target=workspace or organization,
        after={"amount_cents": amount_cents},
    )
    return notification


@transaction.atomic
def spend_notification_remove(*, actor: Actor, notification: SpendNotification) -> None:
    if notification.workspace is not None:
        ensure_state_allows("limits.edit", notification.workspace)
    audit.record(
        actor,
        "spend_notification.remove",
        target=notification.workspace or notification.organization,
        before={"amount_cents": notification.amount_cents},
    )
    notification.delete()


def notification_recipients(organization: Organization, workspace: Workspace | None) -> list[str]:
    """Who is told about spend: the organization's admins and billing members, and for a
    workspace also its explicit Workspace Admins."""
    emails = set(
        OrganizationMember.objects.filter(
            organization=organization, role__in=INHERITING_ORG_ROLES
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
        try:
            sent += spend_notifications_check(
                organization=organizations[organization_id],
                workspace=workspaces.get(workspace_id) if workspace_id is not None else None,
                now=now,
            )
        except Exception:
            # Checked again next time; the other scopes go on.
            logger.exception(
                "Spend notifications of %s (workspace %s) could not be checked.",
                organization_id,
                workspace_id,
            )
    return sent


def spend_limit_passed_record(
    *, organization_id: str, workspace_id: int, request_id: str, overage: dict
) -> None:
    """Audit a settle whose usage, above what it reserved, passed a spend limit."""
    workspace = Workspace.objects.select_related("organization").get(pk=workspace_id)
    audit.record(
        Actor.system("gateway"),
        "spend_limit.passed",
        target=workspace,
        after={"request_id": request_id, **overage},
    )


# -- Gateway tokens ----------------------------------------------------------------------------


# The operator's own: their events are in no organization's trail.
OPERATOR = Actor.system("operator")


@transaction.atomic
def gateway_token_create(
    *, name: str, actor: Actor = OPERATOR, organization: Organization | None = None
) -> tuple[GatewayToken, str]:
    """A token for the operator's gateway, for every organization or (`organization`) for
    one only. Returns it with its secret, shown once. `actor` is the staff member creating
    it; the operator when it is set up from code."""
    name = keys.clean_name(name)
    secret, hint, digest = new_api_secret(GatewayToken.SECRET_PREFIX)
    token = GatewayToken.objects.create(
        name=name,
        hint=hint,
        secret_hash=digest,
        created_by=actor.user,
        organization=organization,
    )
    audit.record(actor, "gateway_token.create", target=token, after={"name": name, "hint": hint})
    return token, secret


def _locked_token(key: GatewayToken) -> GatewayToken:
    return GatewayToken.objects.select_for_update().get(pk=key.pk)


@transaction.atomic
def gateway_token_disable(*, actor: Actor, key: GatewayToken) -> GatewayToken:
    """Disable a gateway token: the gateway using it is refused until it is enabled again.
    Deleted tokens refuse."""
    key = _locked_token(key)
    keys.set_status(actor, key, KeyStatus.INACTIVE, action="gateway_token.disable")
    return key


@transaction.atomic
def gateway_token_enable(*, actor: Actor, key: GatewayToken) -> GatewayToken:
    """Enable a disabled gateway token again. Deleted tokens refuse."""
    key = _locked_token(key)
    keys.set_status(actor, key, KeyStatus.ACTIVE, action="gateway_token.enable")
    return key


@transaction.atomic
def gateway_token_delete(*, actor: Actor, key: GatewayToken) -> GatewayToken:
    """Delete a gateway token for good: the gateway using it is refused from then on."""
    key = _locked_token(key)
    keys.delete(actor, key, action="gateway_token.delete")
    return key


# -- Spend limit increase requests ------------------------------------------------------------

audit.register_actions(
    {
        "spend_limit_increase_request.create": "Spend limit increase requested",
        "spend_limit_increase_request.approve": "Spend limit increase approved",
        "spend_limit_increase_request.deny": "Spend limit increase denied",
    }
)

INCREASE_MESSAGE_MAX_LENGTH = 1000


def increase_request_approvers(organization: Organization) -> list[str]:
    """Who is asked to answer increase requests: the members whose role may answer them."""
    return sorted(
        OrganizationMember.objects.filter(
            organization=organization,
            role__in=organization_roles_with("limits.increase_requests.manage"),
        ).values_list("user__email", flat=True)
    )


def increase_request_email(request_id: str, _secret: str | None) -> EmailMessage | None:
    """The e-mail asking the organization's admins to answer an increase request
    (`accounts.outbox`); None when it was answered meanwhile or there is no admin."""
    increase = (
        SpendLimitIncreaseRequest.objects.select_related("workspace", "organization")
        .filter(pk=request_id)
        .first()
    )
    if increase is None or increase.current_status() != IncreaseRequestStatus.PENDING:
        return None
    recipients = increase_request_approvers(increase.organization)
    if not recipients:
        return None
    return EmailMessage(
        subject=outbox.one_line(f"Spend limit increase requested for {increase.workspace.name}"),
        body=render_to_string(
            "billing/email/increase_request_created.txt",
            {
                "request": increase,
                "url": settings.SITE_URL + reverse("billing:spend_limit_increase_request_list"),
            },
        ),
        to=recipients,
    )


def increase_answer_email(request_id: str, _secret: str | None) -> EmailMessage | None:
    """The e-mail telling the requester how their increase request was answered
    (`accounts.outbox`); None when they are gone."""
    increase = (
        SpendLimitIncreaseRequest.objects.select_related("workspace", "requested_by")
        .filter(pk=request_id)
        .first()
    )
    if increase is None or increase.requested_by is None:
        return None
    return EmailMessage(
        subject=outbox.one_line(
            f"Your spend limit increase for {increase.workspace.name} was {increase.status}"
        ),
        body=render_to_string(
            "billing/email/increase_request_answered.txt",
            {
                "request": increase,
                "url": settings.SITE_URL
                + reverse("billing:workspace_limits", args=[increase.workspace.public_id]),
            },
        ),
        to=[increase.requested_by.email],
    )


@transaction.atomic
def spend_limit_increase_request_create(
    *, actor: Actor, workspace: Workspace, amount_cents: int, message: str = ""
) -> SpendLimitIncreaseRequest:
    """A member asks for a higher monthly spend limit of `workspace`; the organization's
    admins are e-mailed once this commits. One open request per member and workspace."""
    workspace = lock_workspace_for("limits.request_increase", workspace)
    if actor.user is None:
        raise ValidationError("Only a member of the organization can ask for an increase.")
    amount_cents = _clean_positive(
        amount_cents, field="amount", maximum=MAX_AMOUNT_CENTS, what="amount"
    )
    message = check_text((message or "").strip(), multiline=True, field="message")
    if len(message) > INCREASE_MESSAGE_MAX_LENGTH:
        raise ValidationError(
            {"message": f"Keep the message to {INCREASE_MESSAGE_MAX_LENGTH} characters."}
        )
    limits = selectors.effective_limits(workspace)
    current = limits.workspace_spend_limit_cents
    if current is not None and amount_cents <= current:
        raise ValidationError({"amount": f"Ask for more than the current limit ({_usd(current)})."})
    organization_limit = limits.organization_spend_limit_cents
    if organization_limit is not None and amount_cents >= organization_limit:
        raise ValidationError(
            {
                "amount": "A workspace spend limit must be lower than the organization's "
                f"({_usd(organization_limit)})."
            }
        )
    now = timezone.now()
    SpendLimitIncreaseRequest.objects.filter(
        workspace=workspace,
        requested_by=actor.user,
        status=IncreaseRequestStatus.PENDING,
        expires_at__lte=now,
    ).update(status=IncreaseRequestStatus.DENIED, resolved_at=F("expires_at"))
    if (
        SpendLimitIncreaseRequest.objects.filter(workspace=workspace, requested_by=actor.user)
        .open()
        .exists()
    ):
        raise ValidationError(
            "You already asked for an increase of this workspace's limit; an admin will answer it."
        )
    increase = SpendLimitIncreaseRequest.objects.create(
        organization=workspace.organization,
        workspace=workspace,
        requested_by=actor.user,
        amount_cents=amount_cents,
        message=message,
        created_at=now,
        expires_at=now + timedelta(days=INCREASE_REQUEST_LIFETIME_DAYS),
    )
    audit.record(
        actor,
        "spend_limit_increase_request.create",
        target=increase,
        after={"request": increase.public_id, "amount_cents": amount_cents},
    )
    outbox.send_after_commit(increase_request_email, increase.pk)
    return increase


def _lock_increase_request(increase: SpendLimitIncreaseRequest) -> SpendLimitIncreaseRequest:
    return (
        SpendLimitIncreaseRequest.objects.select_for_update(of=("self",))
        .select_related("workspace__organization", "requested_by", "organization")
        .get(pk=increase.pk)
    )


@transaction.atomic
def spend_limit_increase_request_approve(
    *,
    actor: Actor,
    increase: SpendLimitIncreaseRequest,
    amount_cents: int | None = None,
    period: str = SpendLimitPeriod.MONTHLY,
    notify: bool = True,
) -> SpendLimitIncreaseRequest:
    """Set the workspace's monthly spend limit to `amount_cents` (by default what was asked)
    and mark the request approved; the requester is e-mailed unless `notify` is off."""
    _check_period(period)
    increase = _lock_increase_request(increase)
    if increase.current_status() != IncreaseRequestStatus.PENDING:
        raise ValidationError(
            f"This request is {increase.current_status()} and can no longer be approved.",
            code="increase_request_resolved",
        )
    amount = increase.amount_cents if amount_cents is None else amount_cents
    workspace_spend_limit_set(actor=actor, workspace=increase.workspace, amount_cents=amount)
    increase.status = IncreaseRequestStatus.APPROVED
    increase.approved_amount_cents = amount
    increase.resolved_at = timezone.now()
    increase.resolved_by = actor.user
    increase.save(update_fields=["status", "approved_amount_cents", "resolved_at", "resolved_by"])
    audit.record(
        actor,
        "spend_limit_increase_request.approve",
        target=increase,
        before={"request": increase.public_id, "status": IncreaseRequestStatus.PENDING},
        after={"status": increase.status, "amount_cents": amount},
    )
    if notify:
        outbox.send_after_commit(increase_answer_email, increase.pk)
    return increase


@transaction.atomic
def spend_limit_increase_request_deny(
    *, actor: Actor, increase: SpendLimitIncreaseRequest, notify: bool = True
) -> SpendLimitIncreaseRequest:
    """Mark the request denied (again denying a denied one changes nothing); the requester
    is e-mailed unless `notify` is off."""
    increase = _lock_increase_request(increase)
    status = increase.current_status()
    if status == IncreaseRequestStatus.DENIED:
        return increase
    if status == IncreaseRequestStatus.APPROVED:
        raise ValidationError(
            "This request was approved; change the workspace's spend limit instead.",
            code="increase_request_resolved",
        )
    increase.status = IncreaseRequestStatus.DENIED
    increase.resolved_at = timezone.now()
    increase.resolved_by = actor.user
    increase.save(update_fields=["status", "resolved_at", "resolved_by"])
    audit.record(
        actor,
        "spend_limit_increase_request.deny",
        target=increase,
        before={"request": increase.public_id, "status": IncreaseRequestStatus.PENDING},
        after={"status": increase.status},
    )
    if notify:
        outbox.send_after_commit(increase_answer_email, increase.pk)
    return increase
