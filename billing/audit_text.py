"""How limit, notification, gateway token and spend limit increase actions read in the audit
log, and how increase requests are named there (see `accounts.audit`)."""

import uuid
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.urls import reverse

from accounts import audit
from accounts.audit_text import deleted, disabled, enabled, quoted
from billing import money
from billing.models import Limiter, SpendLimitIncreaseRequest


def _usd(cents: Any) -> str:
    return money.usd(Decimal(str(cents)))


def _limiter(value: str) -> str:
    try:
        return Limiter(value).label.lower()
    except ValueError:
        return value.replace("_", " ")


def _rate_limit_set(before: dict[str, Any], after: dict[str, Any]) -> str:
    was = f"{before['value']:,}" if before.get("value") is not None else "the organization's limit"
    return (
        f"{after['model_group']} {_limiter(after['limiter'])} limit set to "
        f"{after['value']:,} (was {was})"
    )


def _rate_limit_reset(before: dict[str, Any], after: dict[str, Any]) -> str:
    return (
        f"{after['model_group']} {_limiter(after['limiter'])} limit reset to the organization's "
        f"(was {before['value']:,})"
    )


def _spend_limit_set(before: dict[str, Any], after: dict[str, Any]) -> str:
    amount, was = after.get("amount_cents"), before.get("amount_cents")
    text = "Spend limit removed" if amount is None else f"Spend limit set to {_usd(amount)}"
    return f"{text} (was {_usd(was) if was is not None else 'none'})"


def _limits_changed(before: dict[str, Any], after: dict[str, Any]) -> str:
    changes = []
    if after.get("tier") != before.get("tier"):
        changes.append(f"Usage tier changed from {before.get('tier')} to {after.get('tier')}")
    cap, was = after.get("custom_spend_cap_cents"), before.get("custom_spend_cap_cents")
    if cap != was:
        changes.append(
            "Custom spend cap removed" if cap is None else f"Custom spend cap set to {_usd(cap)}"
        )
    for group, limiter, value in after.get("overrides") or []:
        changes.append(
            f"{group} {_limiter(limiter)} limit "
            + ("back to the tier's" if value is None else f"set to {value:,}")
        )
    return "; ".join(changes) or "Limits saved unchanged"


def _passed(before: dict[str, Any], after: dict[str, Any]) -> str:
    passed = after.get("limits_passed") or []
    limits = ", ".join(
        f"the {limit['scope']}'s {_usd(limit['limit'])} limit (used {_usd(limit['used'])})"
        for limit in passed
    )
    return (
        f"Request {after['request_id']} used {_usd(after['over_reservation'])} more than it "
        f"reserved and passed {limits or 'a spend limit'}"
    )


audit.register_descriptions(
    {
        "workspace_rate_limit.set": _rate_limit_set,
        "workspace_rate_limit.reset": _rate_limit_reset,
        "workspace_spend_limit.set": _spend_limit_set,
        "organization_spend_limit.set": _spend_limit_set,
        "workspace_spend_limit.reset": lambda b, a: (
            "Spend limit reset to the organization's"
            + (f" (was {_usd(b['amount_cents'])})" if b.get("amount_cents") is not None else "")
        ),
        "spend_notification.add": lambda b, a: (
            f"Notification added at {_usd(a['amount_cents'])} of monthly spend"
        ),
        "spend_notification.remove": lambda b, a: (
            f"Notification at {_usd(b['amount_cents'])} removed"
        ),
        "organization_limits.change": _limits_changed,
        "gateway_token.create": lambda b, a: (
            f"Created gateway token {quoted(a['name'])} ({a['hint']})"
        ),
        "gateway_token.disable": disabled,
        "gateway_token.enable": enabled,
        "gateway_token.delete": deleted,
        "spend_limit.passed": _passed,
        "spend_limit_increase_request.create": lambda b, a: (
            f"Asked for a monthly spend limit of {_usd(a['amount_cents'])}"
        ),
        "spend_limit_increase_request.approve": lambda b, a: (
            f"Approved: the spend limit is now {_usd(a['amount_cents'])}"
        ),
        "spend_limit_increase_request.deny": lambda b, a: "Denied",
    }
)


def _increase_requests(organization_id: uuid.UUID, ids: set[str]) -> dict[str, audit.TargetName]:
    requests = SpendLimitIncreaseRequest.objects.filter(
        organization_id=organization_id, public_id__in=ids
    )
    url = reverse("billing:spend_limit_increase_request_list")
    return {
        public_id: audit.TargetName(f"Request for {_usd(amount)} in {workspace}", url)
        for public_id, amount, workspace in requests.values_list(
            "public_id", "amount_cents", "workspace__name"
        )
    }


def _increase_requests_named(organization_id: uuid.UUID, text: str) -> Q:
    return Q(
        target_id__in=SpendLimitIncreaseRequest.objects.filter(
            organization_id=organization_id, workspace__name__icontains=text
        ).values("public_id")
    )


audit.register_target_namers(
    {
        "spend_limit_increase_request": audit.TargetNamer(
            _increase_requests, _increase_requests_named
        ),
    }
)
