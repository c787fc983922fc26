"""Admin API: rate limits, spend limits and notifications, and the usage and cost reports
(read from the same rollups as the pages)."""

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import Sum
from django.http import Http404, HttpRequest
from django.utils.dateparse import parse_datetime

from accounts.admin_api import admin_api, body_field, choices_error, deleted
from billing import selectors, services, usage
from billing.models import (
    Limiter,
    Model,
    ModelGroup,
    SpendNotification,
    UsageDaily,
    UsageHour,
    UsageMinute,
)
from billing.reports import PRICE_OF
from console.api import ApiError, query_int, query_list, rfc3339
from workspaces.api import get_workspace
from workspaces.models import Workspace

# -- Rate limits --------------------------------------------------------------------------------


def _rate_limits_json(limits, *, workspace: bool) -> dict:
    models_by_group: dict[int, list[str]] = {}
    for model in Model.objects.order_by("api_name"):
        models_by_group.setdefault(model.group_id, []).append(model.api_name)
    data = []
    for group, rows in limits.groups:
        entries = []
        for row in rows:
            entry = {"type": row.limiter, "value": row.workspace_value if workspace else row.value}
            if workspace:
                entry.update(
                    {
                        "org_limit": row.organization_value,
                        "source": row.source,
                        "effective": row.value,
                    }
                )
            entries.append(entry)
        data.append(
            {
                "type": "rate_limit",
                "id": group.slug,
                "group_type": "model_group",
                "name": group.name,
                "models": models_by_group.get(group.pk, []),
                "limits": entries,
            }
        )
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


@admin_api("GET")
def organization_rate_limits(request: HttpRequest) -> dict:
    return _rate_limits_json(
        selectors.organization_effective_limits(request.admin_key.organization), workspace=False
    )


@admin_api("GET")
def workspace_rate_limits(request: HttpRequest, workspace_id: str) -> dict:
    return _rate_limits_json(
        selectors.effective_limits(get_workspace(request, workspace_id)), workspace=True
    )


@admin_api("POST")
def workspace_rate_limit(request: HttpRequest, workspace_id: str, rate_limit_id: str) -> dict:
    workspace = get_workspace(request, workspace_id)
    group = ModelGroup.objects.filter(slug=rate_limit_id).first()
    if group is None:
        raise Http404(f"No rate limit {rate_limit_id}.")
    changes = body_field(request, "limits", list)
    for change in changes:
        if (
            not isinstance(change, dict)
            or change.get("type") not in Limiter.values
            or "value" not in change
        ):
            raise ApiError(
                400,
                "invalid_request_error",
                "limits: each entry needs a type of "
                f"{', '.join(Limiter.values)} and a value (a whole number, or null to clear).",
            )
    for change in changes:
        if change["value"] is None:
            services.workspace_rate_limit_reset(
                actor=request.actor, workspace=workspace, model_group=group, limiter=change["type"]
            )
        else:
            services.workspace_rate_limit_set(
                actor=request.actor,
                workspace=workspace,
                model_group=group,
                limiter=change["type"],
                value=change["value"],
            )
    entry = _rate_limits_json(selectors.effective_limits(workspace), workspace=True)
    return next(item for item in entry["data"] if item["id"] == group.slug)


# -- Spend limits and notifications (beyond Anthropic's API) ------------------------------------


def _dollars(cents) -> str | None:
    return None if cents is None else f"{Decimal(cents) / 100:.2f}"


def _amount_cents(value, name: str = "amount") -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ApiError(
            400, "invalid_request_error", f'{name}: expected an amount in USD, such as "25.00".'
        )
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ApiError(
            400, "invalid_request_error", f'{name}: expected an amount in USD, such as "25.00".'
        ) from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:
        raise ApiError(400, "invalid_request_error", f"{name}: at most 2 decimal places.")
    if amount <= 0 or amount > services.MAX_AMOUNT_CENTS / 100:
        raise ApiError(400, "invalid_request_error", f"{name}: must be a positive amount.")
    return int(amount * 100)


def _spend_limit_json(workspace: Workspace) -> dict:
    limits = selectors.effective_limits(workspace)
    return {
        "type": "spend_limit",
        "workspace_id": workspace.public_id,
        "amount": _dollars(limits.workspace_spend_limit_cents),
        "organization_limit": _dollars(limits.organization_spend_limit_cents),
        "effective": _dollars(limits.spend_limit_cents),
        "month_to_date": f"{limits.month_to_date_spend_cents / 100:.2f}",
        "currency": "USD",
    }


@admin_api("GET", "POST")
def workspace_spend_limit(request: HttpRequest, workspace_id: str) -> dict:
    workspace = get_workspace(request, workspace_id)
    if request.method == "POST":
        if "amount" not in request.json:
            raise ApiError(
                400, "invalid_request_error", "amount: Field required (null removes the limit)."
            )
        value = request.json["amount"]
        services.workspace_spend_limit_set(
            actor=request.actor,
            workspace=workspace,
            amount_cents=None if value is None else _amount_cents(value),
        )
    return _spend_limit_json(workspace)


def _notification_json(notification: SpendNotification, workspace: Workspace) -> dict:
    return {
        "type": "spend_notification",
        "id": str(notification.amount_cents),
        "workspace_id": workspace.public_id,
        "amount": _dollars(notification.amount_cents),
        "currency": "USD",
    }


@admin_api("GET", "POST")
def workspace_spend_notifications(request: HttpRequest, workspace_id: str) -> dict:
    workspace = get_workspace(request, workspace_id)
    if request.method == "POST":
        if "amount" not in request.json:
            raise ApiError(400, "invalid_request_error", "amount: Field required.")
        notification = services.spend_notification_add(
            actor=request.actor,
            organization=workspace.organization,
            workspace=workspace,
            amount_cents=_amount_cents(request.json["amount"]),
        )
        return _notification_json(notification, workspace)
    data = [
        _notification_json(n, workspace)
        for n in SpendNotification.objects.filter(workspace=workspace)
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


@admin_api("DELETE")
def workspace_spend_notification(
    request: HttpRequest, workspace_id: str, notification_id: str
) -> dict:
    workspace = get_workspace(request, workspace_id)
    notification = (
        SpendNotification.objects.filter(workspace=workspace, amount_cents=int(notification_id))
        .select_related("workspace", "organization")
        .first()
        if notification_id.isdigit()
        else None
    )
    if notification is None:
        raise Http404(f"No spend notification {notification_id}.")
    services.spend_notification_remove(actor=request.actor, notification=notification)
    return deleted("spend_notification", id=notification_id)


# -- Usage and cost reports -------------------------------------------------------------------

WIDTHS = {
    "1m": (timedelta(minutes=1), UsageMinute, "minute", 60, 1440),
    "1h": (timedelta(hours=1), UsageHour, "hour", 24, 168),
    "1d": (timedelta(days=1), UsageDaily, "day", 7, 31),
}
USAGE_GROUPS = ["api_key_id", "workspace_id", "model", "service_tier", "context_window"]
COST_GROUPS = ["workspace_id", "description"]
TOKEN_TYPES = {
    "uncached_input_tokens": "uncached_input_tokens",
    "cache_creation_5m_tokens": "cache_creation.ephemeral_5m_input_tokens",
    "cache_creation_1h_tokens": "cache_creation.ephemeral_1h_input_tokens",
    "cache_read_tokens": "cache_read_input_tokens",
    "output_tokens": "output_tokens",
}


def _time(request: HttpRequest, name: str, *, required: bool) -> datetime | None:
    value = request.GET.get(name)
    if not value:
        if required:
            raise ApiError(400, "invalid_request_error", f"{name}: Field required.")
        return None
    moment = parse_datetime(value)
    if moment is None:
        raise ApiError(
            400,
            "invalid_request_error",
            f"{name}: expected an RFC 3339 time such as 2026-11-01T00:00:00Z.",
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _floor(moment: datetime, width: str) -> datetime:
    if width == "1m":
        return moment.replace(second=0, microsecond=0)
    if width == "1h":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _page_window(request: HttpRequest, width: str, *, default_limit: int, max_limit: int):
    """The buckets of this page: (starts, has_more, next_page)."""
    step = WIDTHS[width][0]
    start = _floor(_time(request, "starting_at", required=True), width)
    end = _time(request, "ending_at", required=False)
    limit = query_int(request, "limit", default=default_limit, minimum=1, maximum=max_limit)
    if page := request.GET.get("page"):
        try:
            start = _floor(
                datetime.fromisoformat(base64.urlsafe_b64decode(page.encode()).decode()), width
            )
        except (ValueError, UnicodeDecodeError):
            raise ApiError(
                400, "invalid_request_error", "page: not a page token from this report."
            ) from None
    if end is not None and end <= start:
        raise ApiError(400, "invalid_request_error", "ending_at must be after starting_at.")
    starts = []
    moment = start
    while len(starts) < limit and (end is None or moment < end):
        starts.append(moment)
        moment += step
    has_more = end is not None and moment < end
    next_page = base64.urlsafe_b64encode(moment.isoformat().encode()).decode() if has_more else None
    return starts, has_more, next_page


def _ids(request: HttpRequest, name: str) -> list[str]:
    return query_list(request, name)


def _usage_rows(
    request: HttpRequest,
    table,
    period: str,
    starts: list[datetime],
    step: timedelta,
    dims: list[str],
):
    organization = request.admin_key.organization
    period_value = (lambda m: m.date()) if period == "day" else (lambda m: m)
    rows = table.objects.filter(
        organization=organization,
        **{
            f"{period}__gte": period_value(starts[0]),
            f"{period}__lt": period_value(starts[-1] + step),
        },
    )
    if workspace_ids := _ids(request, "workspace_ids"):
        rows = rows.filter(workspace__public_id__in=workspace_ids)
    if key_ids := _ids(request, "api_key_ids"):
        rows = rows.filter(api_key__public_id__in=key_ids)
    if models := _ids(request, "models"):
        rows = rows.filter(model__api_name__in=models)
    fields = {
        "api_key_id": "api_key__public_id",
        "workspace_id": "workspace__public_id",
        "model": "model__api_name",
    }
    group = [period, "workspace__is_default"] + [fields[d] for d in dims if d in fields]
    return rows.values(*group), fields


@admin_api("GET")
def usage_report(request: HttpRequest) -> dict:
    width = request.GET.get("bucket_width") or "1d"
    if width not in WIDTHS:
        raise choices_error("bucket_width", list(WIDTHS))
    step, table, period, default_limit, max_limit = WIDTHS[width]
    dims = query_list(request, "group_by")
    if set(dims) - set(USAGE_GROUPS):
        raise choices_error("group_by", USAGE_GROUPS)
    starts, has_more, next_page = _page_window(
        request, width, default_limit=default_limit, max_limit=max_limit
    )
    rows, fields = _usage_rows(request, table, period, starts, step, dims)
    rows = rows.annotate(**{f"{name}_sum": Sum(name) for name in usage.TOKEN_FIELDS}).order_by(
        period
    )
    results: dict[datetime, list[dict]] = {start: [] for start in starts}
    for row in rows:
        moment = row[period]
        bucket = (
            datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
            if period == "day"
            else moment.astimezone(UTC)
        )
        workspace_id = row.get(fields["workspace_id"]) if "workspace_id" in dims else None
        if "workspace_id" in dims and row["workspace__is_default"]:
            workspace_id = None
        results.setdefault(bucket, []).append(
            {
                "uncached_input_tokens": row["uncached_input_tokens_sum"],
                "cache_creation": {
                    "ephemeral_5m_input_tokens": row["cache_creation_5m_tokens_sum"],
                    "ephemeral_1h_input_tokens": row["cache_creation_1h_tokens_sum"],
                },
                "cache_read_input_tokens": row["cache_read_tokens_sum"],
                "output_tokens": row["output_tokens_sum"],
                "server_tool_use": {"web_search_requests": 0},
                "api_key_id": row.get(fields["api_key_id"]) if "api_key_id" in dims else None,
                "workspace_id": workspace_id,
                "model": row.get(fields["model"]) if "model" in dims else None,
                "service_tier": "standard" if "service_tier" in dims else None,
                "context_window": "0-200k" if "context_window" in dims else None,
            }
        )
    merged = {}
    for bucket, items in results.items():
        merged[bucket] = _merge(items)
    data = [
        {
            "starting_at": rfc3339(start),
            "ending_at": rfc3339(start + step),
            "results": merged.get(start, []),
        }
        for start in starts
    ]
    return {"data": data, "has_more": has_more, "next_page": next_page}


def _merge(items: list[dict]) -> list[dict]:
    """Rows that differ only by the Default workspace flag (not a dimension) add up."""
    merged: dict[tuple, dict] = {}
    for item in items:
        key = (
            item["api_key_id"],
            item["workspace_id"],
            item["model"],
            item["service_tier"],
            item["context_window"],
        )
        if key not in merged:
            merged[key] = item
            continue
        target = merged[key]
        for name in ("uncached_input_tokens", "cache_read_input_tokens", "output_tokens"):
            target[name] += item[name]
        for name in ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"):
            target["cache_creation"][name] += item["cache_creation"][name]
    return list(merged.values())


@admin_api("GET")
def cost_report(request: HttpRequest) -> dict:
    width = request.GET.get("bucket_width") or "1d"
    if width != "1d":
        raise choices_error("bucket_width", ["1d"])
    dims = query_list(request, "group_by")
    if set(dims) - set(COST_GROUPS):
        raise choices_error("group_by", COST_GROUPS)
    starts, has_more, next_page = _page_window(request, "1d", default_limit=7, max_limit=31)
    organization = request.admin_key.organization
    rows = UsageDaily.objects.filter(
        organization=organization, day__gte=starts[0].date(), day__lte=starts[-1].date()
    )
    if workspace_ids := _ids(request, "workspace_ids"):
        rows = rows.filter(workspace__public_id__in=workspace_ids)
    group = ["day"]
    if "workspace_id" in dims:
        group += ["workspace__public_id", "workspace__is_default"]
    if "description" in dims:
        group += ["model_id"]
    rows = (
        rows.values(*group)
        .annotate(
            cost=Sum("cost_cents"), **{f"{name}_sum": Sum(name) for name in usage.TOKEN_FIELDS}
        )
        .order_by(*group)
    )
    models = {m.pk: m for m in Model.objects.all()} if "description" in dims else {}
    buckets: dict = {start.date(): [] for start in starts}
    for row in rows:
        workspace_id = None
        if "workspace_id" in dims and not row["workspace__is_default"]:
            workspace_id = row["workspace__public_id"]
        base = {
            "currency": "USD",
            "workspace_id": workspace_id,
            "service_tier": None,
            "context_window": None,
        }
        if "description" in dims:
            model = models[row["model_id"]]
            for field, token_type in TOKEN_TYPES.items():
                tokens = row[f"{field}_sum"]
                if not tokens:
                    continue
                amount = Decimal(tokens) * getattr(model, PRICE_OF[field]) / Decimal(10_000)
                buckets[row["day"]].append(
                    {
                        **base,
                        "amount": _cents_text(amount),
                        "description": f"{model.api_name} {token_type.replace('_', ' ')}",
                        "cost_type": "tokens",
                        "model": model.api_name,
                        "token_type": token_type,
                        "service_tier": "standard",
                        "context_window": "0-200k",
                    }
                )
        else:
            buckets[row["day"]].append(
                {
                    **base,
                    "amount": _cents_text(row["cost"]),
                    "description": None,
                    "cost_type": None,
                    "model": None,
                    "token_type": None,
                }
            )
    data = [
        {
            "starting_at": rfc3339(start),
            "ending_at": rfc3339(start + timedelta(days=1)),
            "results": buckets[start.date()],
        }
        for start in starts
    ]
    return {"data": data, "has_more": has_more, "next_page": next_page}


def _cents_text(cents) -> str:
    """A cost in cents as a decimal string, without trailing zeros: "123.4567"."""
    text = f"{Decimal(cents).normalize():f}"
    return text if text != "-0" else "0"
