"""Enforcement: every request checked against all applicable limiters, usage recorded.

`authorize` takes an API key's secret and a request's model, input tokens and `max_tokens`.
It checks, in one atomic step of the limiter backend, the workspace's and the organization's
token buckets (requests, input tokens and output tokens per minute of the model's group),
the workspace's and the organization's monthly spend limits and the usage tier's cap. Either
everything admits and is consumed (one request, the input tokens, `max_tokens` of output
capacity, and the request's worst-case cost as a spend reservation), or nothing is consumed
and the refusal names the limiter and when to retry.

The worst case prices every input token at the dearest input-side rate the request could
incur and the output at `max_tokens`, so recorded spend never exceeds a spend limit, even
under concurrency. `settle` records the real usage, releases the reservation and gives back
unused output capacity; settling twice changes nothing. Unsettled reservations are released
after `RESERVATION_SECONDS`.

Answers are shaped as the Anthropic API answers its clients, so a gateway passes them on.
"""

import base64
import logging
import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils.functional import cached_property

from accounts.models import Organization
from billing import limiter, selectors, usage
from billing.limiter import MICRO, BucketCheck, LimiterUnavailable, Reservation, SpendCheck
from billing.models import Limiter, Model, SpendNotification, UsageRecord
from console.secrets import hash_secret
from workspaces import services as workspace_services
from workspaces.models import ApiKey, Workspace

logger = logging.getLogger(__name__)

MAX_INPUT_TOKENS = 10_000_000
MAX_OUTPUT_TOKENS = 1_000_000
HEADER_NAMES = {
    Limiter.REQUESTS_PER_MINUTE: "requests",
    Limiter.INPUT_TOKENS_PER_MINUTE: "input-tokens",
    Limiter.OUTPUT_TOKENS_PER_MINUTE: "output-tokens",
}
LIMITER_WORDS = {
    Limiter.REQUESTS_PER_MINUTE: "requests per minute",
    Limiter.INPUT_TOKENS_PER_MINUTE: "input tokens per minute",
    Limiter.OUTPUT_TOKENS_PER_MINUTE: "output tokens per minute",
}


# -- Answers -------------------------------------------------------------------------------


def error_body(error_type: str, message: str, **details: Any) -> dict:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if details:
        error["details"] = details
    return {"type": "error", "error": error}


@dataclass
class Decision:
    """What the gateway should do: admit (with `reservation_id`), or answer the client with
    `status`, `body` and `headers`."""

    admitted: bool
    status: int = 200
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reservation_id: str | None = None
    api_key_id: str | None = None
    workspace_id: str | None = None
    limiter: str | None = None

    def to_json(self) -> dict:
        if self.admitted:
            return {
                "admitted": True,
                "reservation_id": self.reservation_id,
                "api_key_id": self.api_key_id,
                "workspace_id": self.workspace_id,
                "headers": self.headers,
            }
        return {
            "admitted": False,
            "status": self.status,
            "error": self.body,
            "headers": self.headers,
        }


class EnforcementError(Exception):
    """Bad input from the gateway itself (not a refusal to pass on)."""

    def __init__(
        self, message: str, *, status: int = 400, error_type: str = "invalid_request_error"
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


# -- Cached lookups --------------------------------------------------------------------------


class TTLCache:
    """A small in-process cache: enforcement reads keys, models and limits on every request,
    and they change rarely. `LIMITER_CACHE_SECONDS` bounds how stale they may be (0: off).
    Nothing is cached for None (a miss is looked up again)."""

    every: list["TTLCache"] = []

    def __init__(self) -> None:
        self._items: dict[Any, tuple[float, Any]] = {}
        TTLCache.every.append(self)

    def get(self, key, load):
        ttl = settings.LIMITER_CACHE_SECONDS
        now = time.monotonic()
        if ttl > 0:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = load()
        if ttl > 0 and value is not None:
            if len(self._items) > 50_000:
                self._items.clear()
            self._items[key] = (now + ttl, value)
        return value

    def clear(self) -> None:
        self._items.clear()


_keys = TTLCache()
_models = TTLCache()
_limits = TTLCache()


def clear_caches() -> None:
    for cache in TTLCache.every:
        cache.clear()


@dataclass(frozen=True)
class KeyContext:
    api_key_id: int
    api_key_public_id: str
    workspace_id: int
    workspace_public_id: str | None  # None for the Default workspace, as the API shows it
    organization_id: str
    expires_at: datetime | None


def _key_context(secret: str) -> KeyContext | None:
    def load():
        key = workspace_services.api_key_authenticate(secret)
        if key is None:
            return None
        return KeyContext(
            api_key_id=key.pk,
            api_key_public_id=key.public_id,
            workspace_id=key.workspace_id,
            workspace_public_id=None if key.workspace.is_default else key.workspace.public_id,
            organization_id=str(key.organization_id),
            expires_at=key.expires_at,
        )

    if not isinstance(secret, str) or len(secret) > 200:
        return None
    context = _keys.get(hash_secret(secret), load)
    if (
        context is not None
        and context.expires_at is not None
        and context.expires_at <= datetime.now(UTC)
    ):
        return None
    return context


def _model(name: str) -> Model | None:
    return _models.get(
        name, lambda: Model.objects.select_related("group").filter(api_name=name).first()
    )


@dataclass(frozen=True)
class Policy:
    """The limits in force for one workspace, as enforcement needs them."""

    organization_id: str
    workspace_id: int
    rate: dict[tuple[int, str], tuple[int | None, int]]  # (group, limiter) -> (workspace, org)
    workspace_spend_limit: int | None  # micro-cents
    organization_spend_limit: int | None  # the organization's own limit, micro-cents
    spend_cap: int | None  # the tier's (or staff's) monthly cap, micro-cents
    workspace_thresholds: tuple[int, ...]  # notification amounts, micro-cents
    organization_thresholds: tuple[int, ...]


def _micro(cents: int | None) -> int | None:
    return None if cents is None else cents * MICRO


def _policy(workspace_id: int) -> Policy:
    def load():
        workspace = Workspace.objects.select_related("organization").get(pk=workspace_id)
        limits = selectors.effective_limits(workspace)
        organization_thresholds = SpendNotification.objects.filter(
            organization_id=workspace.organization_id, workspace__isnull=True
        ).values_list("amount_cents", flat=True)
        own_limit = limits.settings.spend_limit_cents
        return Policy(
            organization_id=str(workspace.organization_id),
            workspace_id=workspace.pk,
            rate={
                (row.model_group.pk, row.limiter): (row.workspace_value, row.organization_value)
                for row in limits.rate_limits
            },
            workspace_spend_limit=_micro(limits.workspace_spend_limit_cents),
            organization_spend_limit=_micro(own_limit),
            spend_cap=_micro(limits.settings.spend_cap_cents),
            workspace_thresholds=tuple(n.amount_cents * MICRO for n in limits.notifications),
            organization_thresholds=tuple(amount * MICRO for amount in organization_thresholds),
        )

    return _limits.get(workspace_id, load)


# -- The backend -----------------------------------------------------------------------------


_backend: limiter.Backend | None = None


def backend() -> limiter.Backend:
    global _backend
    if _backend is None:
        _backend = (
            limiter.RedisBackend(settings.REDIS_URL)
            if settings.REDIS_URL
            else limiter.LocalBackend()
        )
    return _backend


def use_backend(new: limiter.Backend | None) -> None:
    """Replace the backend (tests, benchmarks); None goes back to the configured one."""
    global _backend
    _backend = new
    clear_caches()


def _months(now: float) -> tuple[str, str]:
    moment = datetime.fromtimestamp(now, UTC)
    previous = moment.replace(day=1) - timedelta(days=1)
    return f"{moment:%Y-%m}", f"{previous:%Y-%m}"


def _next_month_start(now: float) -> datetime:
    moment = datetime.fromtimestamp(now, UTC)
    return (moment.replace(day=28) + timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- Reservation ids ----------------------------------------------------------------------------
# A reservation id carries what settling needs (organization, workspace, key, model, time), so
# a settle needs no lookup before its one round trip. The random part makes it unguessable;
# the counters only hold reservations under their full id, so an altered id matches nothing.


def _reservation_id(context: KeyContext, model: Model, now: float) -> str:
    payload = f"{context.organization_id}|{context.workspace_id}|{context.api_key_id}|{model.pk}|{int(now * 1000)}"
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"res_{encoded}_{secrets.token_urlsafe(12)}"


@dataclass(frozen=True)
class ReservationInfo:
    organization_id: str
    workspace_id: int
    api_key_id: int
    model_id: int
    at: float


def parse_reservation_id(reservation_id: str) -> ReservationInfo | None:
    try:
        prefix, encoded, _random = reservation_id.split("_", 2)
        if prefix != "res":
            return None
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        organization_id, workspace_id, api_key_id, model_id, at_ms = payload.split("|")
        return ReservationInfo(
            organization_id, int(workspace_id), int(api_key_id), int(model_id), int(at_ms) / 1000
        )
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None


# -- Authorize --------------------------------------------------------------------------------


@dataclass
class _Plan:
    context: KeyContext
    model: Model
    policy: Policy
    buckets: list[BucketCheck]
    bucket_meta: dict[str, tuple[str, str, int]]  # name -> (scope, limiter, limit)
    spends: list[SpendCheck]
    worst_case: int

    @cached_property
    def output_buckets(self) -> tuple[tuple[str, int], ...]:
        return tuple(
            (b.name, b.capacity)
            for b in self.buckets
            if self.bucket_meta[b.name][1] == Limiter.OUTPUT_TOKENS_PER_MINUTE
        )


def _clean_count(value: Any, name: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EnforcementError(f"{name}: must be a whole number.")
    if value < minimum or value > maximum:
        raise EnforcementError(f"{name}: must be between {minimum:,} and {maximum:,}.")
    return value


def worst_case_cost(model: Model, input_tokens: int, max_tokens: int) -> Decimal:
    """The most a request can cost, in cents: all input at the dearest input-side rate
    (a 1-hour cache write), and `max_tokens` of output."""
    dearest_input = max(
        model.input_price,
        model.cache_write_5m_price,
        model.cache_write_1h_price,
        model.cache_read_price,
    )
    return (
        Decimal(input_tokens) * dearest_input + Decimal(max_tokens) * model.output_price
    ) / Decimal(10_000)


def _plan(context: KeyContext, model: Model, input_tokens: int, max_tokens: int) -> _Plan:
    policy = _policy(context.workspace_id)
    group = model.group
    amounts = {
        Limiter.REQUESTS_PER_MINUTE: 1,
        Limiter.INPUT_TOKENS_PER_MINUTE: input_tokens,
        Limiter.OUTPUT_TOKENS_PER_MINUTE: max_tokens,
    }
    buckets, meta = [], {}
    for limiter_name, amount in amounts.items():
        values = policy.rate.get((group.pk, limiter_name))
        if values is None:
            continue
        workspace_value, organization_value = values
        if workspace_value is not None:
            name = f"ws:{context.workspace_id}:{group.slug}:{limiter_name}"
            buckets.append(BucketCheck(name, workspace_value, amount))
            meta[name] = ("workspace", limiter_name, workspace_value)
        name = f"org:{group.slug}:{limiter_name}"
        buckets.append(BucketCheck(name, organization_value, amount))
        meta[name] = ("organization", limiter_name, organization_value)
    worst = usage.to_micro(worst_case_cost(model, input_tokens, max_tokens))
    workspace_limits = (
        ((policy.workspace_spend_limit, "workspace"),)
        if policy.workspace_spend_limit is not None
        else ()
    )
    # The lower limit speaks first: an organization's own limit under its cap is what it hits.
    organization_limits = tuple(
        sorted(
            (limit, tag)
            for limit, tag in (
                (policy.organization_spend_limit, "organization"),
                (policy.spend_cap, "tier_cap"),
            )
            if limit is not None
        )
    )
    spends = [
        SpendCheck(f"ws:{context.workspace_id}", worst, workspace_limits),
        SpendCheck("org", worst, organization_limits),
    ]
    return _Plan(context, model, policy, buckets, meta, spends, worst)


def _rebuild_spend(plan: _Plan, names: list[str], now: float, month: str) -> None:
    """Counters Redis lost (or never had) start from what the database recorded."""
    organization = Organization(pk=plan.context.organization_id)
    moment = datetime.fromtimestamp(now, UTC)
    values = {}
    for name in names:
        workspace = Workspace(pk=int(name.split(":")[1])) if name.startswith("ws:") else None
        values[name] = usage.to_micro(
            usage.month_to_date_spend(organization, workspace, now=moment)
        )
    backend().seed_spend(plan.context.organization_id, month, values)


def _rate_headers(plan: _Plan, levels: dict[str, float], now: float) -> dict[str, str]:
    """anthropic-ratelimit-* headers from the most restrictive bucket of each kind."""
    headers: dict[str, str] = {}
    tightest: dict[str, tuple[float, BucketCheck]] = {}
    for bucket in plan.buckets:
        level = levels.get(bucket.name)
        if level is None:
            continue
        kind = plan.bucket_meta[bucket.name][1]
        if kind not in tightest or level < tightest[kind][0]:
            tightest[kind] = (level, bucket)
    moment = datetime.fromtimestamp(now, UTC)
    for kind, (level, bucket) in tightest.items():
        prefix = f"anthropic-ratelimit-{HEADER_NAMES[kind]}"
        remaining = max(0, math.floor(level))
        headers[f"{prefix}-limit"] = str(bucket.capacity)
        headers[f"{prefix}-remaining"] = str(remaining)
        headers[f"{prefix}-reset"] = _rfc3339(
            moment + timedelta(seconds=(bucket.capacity - level) / bucket.rate)
        )
    token_kinds = [
        k
        for k in (Limiter.INPUT_TOKENS_PER_MINUTE, Limiter.OUTPUT_TOKENS_PER_MINUTE)
        if k in tightest
    ]
    if token_kinds:
        kind = min(token_kinds, key=lambda k: tightest[k][0])
        for suffix in ("limit", "remaining", "reset"):
            headers[f"anthropic-ratelimit-tokens-{suffix}"] = headers[
                f"anthropic-ratelimit-{HEADER_NAMES[kind]}-{suffix}"
            ]
    return headers


def _refusal(plan: _Plan, result: limiter.CheckResult, now: float) -> Decision:
    headers = _rate_headers(plan, result.levels, now)
    if result.refused_bucket:
        scope, limiter_name, limit = plan.bucket_meta[result.refused_bucket]
        retry = max(1, math.ceil(result.retry_after))
        headers["retry-after"] = str(retry)
        where = "your workspace's" if scope == "workspace" else "your organization's"
        message = (
            f"This request would exceed {where} rate limit of {limit:,} {LIMITER_WORDS[limiter_name]} "
            f"for {plan.model.group.name}. Please retry after {retry} second{'s' if retry != 1 else ''}."
        )
        return Decision(
            False, 429, error_body("rate_limit_error", message), headers, limiter=limiter_name
        )
    _name, tag = result.refused_spend
    resumes = _next_month_start(now)
    when = f"{resumes:%Y-%m-%d} at 00:00 UTC"
    if tag == "workspace":
        message = f"You have reached your specified workspace API usage limits. You will regain access on {when}."
        return Decision(
            False,
            400,
            error_body("invalid_request_error", message),
            headers,
            limiter="workspace_spend_limit",
        )
    if tag == "organization":
        message = (
            f"You have reached your specified API usage limits. You will regain access on {when}."
        )
        return Decision(
            False,
            400,
            error_body("invalid_request_error", message),
            headers,
            limiter="organization_spend_limit",
        )
    message = f"Your organization has reached its monthly usage tier spend limit. Access resumes on {when}."
    body = error_body("rate_limit_error", message, error_code="enforced_spend_limit_reached")
    return Decision(False, 429, body, headers, limiter="tier_spend_cap")


def authorize(
    api_key: Any, model: Any, input_tokens: Any, max_tokens: Any, *, now: float | None = None
) -> Decision:
    """Check one request against every applicable limiter; see the module's description."""
    now = time.time() if now is None else now
    if not isinstance(model, str) or not model or len(model) > 200:
        raise EnforcementError("model: a model name is required.")
    input_tokens = _clean_count(input_tokens, "input_tokens", minimum=0, maximum=MAX_INPUT_TOKENS)
    max_tokens = _clean_count(max_tokens, "max_tokens", minimum=1, maximum=MAX_OUTPUT_TOKENS)
    context = _key_context(api_key)
    if context is None:
        return Decision(False, 401, error_body("authentication_error", "invalid x-api-key"))
    catalog_model = _model(model)
    if catalog_model is None:
        raise EnforcementError(f"model: unknown model {model[:100]!r}.")
    plan = _plan(context, catalog_model, input_tokens, max_tokens)
    month, previous_month = _months(now)
    reservation = Reservation(
        id=_reservation_id(context, catalog_model, now),
        output_buckets=plan.output_buckets,
        output_reserved=max_tokens,
        spend=tuple((s.name, s.amount) for s in plan.spends),
        month=month,
        expires_at=now + settings.RESERVATION_SECONDS,
    )
    try:
        result = backend().check(
            context.organization_id,
            month,
            previous_month,
            now,
            plan.buckets,
            plan.spends,
            reservation,
        )
        if result.missing_spend:
            _rebuild_spend(plan, result.missing_spend, now, month)
            result = backend().check(
                context.organization_id,
                month,
                previous_month,
                now,
                plan.buckets,
                plan.spends,
                reservation,
            )
    except LimiterUnavailable:
        logger.exception("The limiter's counter store cannot be reached.")
        if settings.LIMITER_FAIL_OPEN:
            return Decision(
                True,
                reservation_id=reservation.id,
                api_key_id=context.api_key_public_id,
                workspace_id=context.workspace_public_id,
            )
        return Decision(False, 529, error_body("overloaded_error", "Overloaded"))
    if not result.admitted:
        decision = _refusal(plan, result, now)
        usage.count_refusal(
            api_key_id=context.api_key_id,
            organization_id=context.organization_id,
            workspace_id=context.workspace_id,
            model_id=catalog_model.pk,
            limiter=decision.limiter,
            at=datetime.fromtimestamp(now, UTC),
        )
        return decision
    return Decision(
        True,
        headers=_rate_headers(plan, result.levels, now),
        reservation_id=reservation.id,
        api_key_id=context.api_key_public_id,
        workspace_id=context.workspace_public_id,
    )


# -- Settle -----------------------------------------------------------------------------------


def usage_from_messages_api(body: Any) -> dict[str, int]:
    """Token counts by kind from a Messages API `usage` object."""
    if not isinstance(body, dict):
        raise EnforcementError("usage: must be an object.")

    def count(value: Any, name: str) -> int:
        if value is None:
            return 0
        return _clean_count(value, f"usage.{name}", minimum=0, maximum=usage.MAX_TOKENS_PER_KIND)

    creation = body.get("cache_creation") or {}
    if not isinstance(creation, dict):
        raise EnforcementError("usage.cache_creation: must be an object.")
    five = count(
        creation.get("ephemeral_5m_input_tokens"), "cache_creation.ephemeral_5m_input_tokens"
    )
    hour = count(
        creation.get("ephemeral_1h_input_tokens"), "cache_creation.ephemeral_1h_input_tokens"
    )
    if not creation:
        five = count(body.get("cache_creation_input_tokens"), "cache_creation_input_tokens")
    return {
        "uncached_input_tokens": count(body.get("input_tokens"), "input_tokens"),
        "cache_creation_5m_tokens": five,
        "cache_creation_1h_tokens": hour,
        "cache_read_tokens": count(body.get("cache_read_input_tokens"), "cache_read_input_tokens"),
        "output_tokens": count(body.get("output_tokens"), "output_tokens"),
    }


@dataclass(frozen=True)
class Settlement:
    reservation_id: str
    cost_cents: Decimal
    already_settled: bool = False

    def to_json(self) -> dict:
        return {
            "reservation_id": self.reservation_id,
            "cost": {
                "amount": f"{self.cost_cents.normalize():f}",
                "currency": "USD",
                "unit": "cents",
            },
            "already_settled": self.already_settled,
        }


def settle(reservation_id: Any, usage_body: Any, *, now: float | None = None) -> Settlement:
    """Record a request's real usage and release its reservation. Idempotent."""
    now = time.time() if now is None else now
    info = (
        parse_reservation_id(reservation_id)
        if isinstance(reservation_id, str) and len(reservation_id) < 300
        else None
    )
    if info is None:
        raise EnforcementError("reservation_id: unknown reservation.")
    tokens = usage_from_messages_api(usage_body)
    model = _models.get(
        ("id", info.model_id), lambda: Model.objects.filter(pk=info.model_id).first()
    )
    if model is None:
        raise EnforcementError("reservation_id: unknown reservation.")
    cost = usage.cost_cents(model, tokens)
    month, previous_month = _months(now)
    at = datetime.fromtimestamp(info.at, UTC)
    api_key = ApiKey(
        pk=info.api_key_id, organization_id=info.organization_id, workspace_id=info.workspace_id
    )
    counters = backend()
    queue = None
    if settings.USAGE_QUEUE and counters.queues_usage:
        queue = limiter.QueuedUsage(
            record=usage.queued_record(
                api_key=api_key,
                model=model,
                tokens=tokens,
                cost=cost,
                at=at,
                request_id=reservation_id,
            ),
            cost_text=str(cost),
            keep_until=now + settings.RESERVATION_SECONDS,
        )
    try:
        result = counters.settle(
            info.organization_id,
            month,
            previous_month,
            now,
            reservation_id,
            tokens["output_tokens"],
            usage.to_micro(cost),
            queue,
        )
        found = result.found
    except LimiterUnavailable:
        logger.exception("The limiter's counter store cannot be reached; recording usage anyway.")
        result, found = limiter.SettleResult(found=False), None
    if found is False:
        if result.settled_cost is not None:
            return Settlement(reservation_id, Decimal(result.settled_cost), already_settled=True)
        existing = (
            UsageRecord.objects.filter(request_id=reservation_id, created_at=at)
            .values_list("cost_cents", flat=True)
            .first()
        )
        if existing is not None:
            return Settlement(reservation_id, existing, already_settled=True)
        if not settings.LIMITER_FAIL_OPEN:
            raise EnforcementError("reservation_id: unknown or expired reservation.")
    if found and queue is not None:
        # Queued with the settle: the worker stores it and then checks notifications.
        return Settlement(reservation_id, cost)
    usage.record(api_key=api_key, model=model, tokens=tokens, at=at, request_id=reservation_id)
    _notify_if_due(info.organization_id, info.workspace_id, result.spend)
    return Settlement(reservation_id, cost)


def store_queued_usage(*, limit: int = 1_000, rounds: int = 50) -> int:
    """Move the usage records queued by settles into the database, a batch of at most
    `limit` per organization at a time, each acknowledged only once stored. Returns how many
    it stored; after `rounds` batches it returns anyway, so the worker's rollups keep up."""
    counters = backend()
    if not counters.queues_usage:
        return 0
    organizations = [str(pk) for pk in Organization.objects.values_list("pk", flat=True)]
    stored = 0
    for _round in range(rounds):
        if not organizations:
            break
        batches = counters.claim_usage(organizations, limit)
        stored_batches = []
        for batch in batches:
            try:
                stored_batches.append((batch, usage.store_queued(batch.records)))
            except (DatabaseError, ValueError):
                # Left claimed, so tried again next time; the other organizations go on.
                logger.exception("Queued usage of organization %s could not be stored.", batch.org)
        counters.ack_usage(
            [(batch, [r.request_id for r in records]) for batch, records in stored_batches]
        )
        stored += sum(len(batch.records) for batch, _records in stored_batches)
        for organization_id, workspace_id in {
            (str(r.organization_id), r.workspace_id)
            for _batch, records in stored_batches
            for r in records
        }:
            _notify_if_due(organization_id, workspace_id, {})
        # Until a claim comes back empty: one handed out again may hide newer records.
        organizations = [batch.org for batch, _records in stored_batches]
    return stored


def _notify_if_due(organization_id: str, workspace_id: int, spend: dict[str, int]) -> None:
    """Run the notification check only when a threshold may have been crossed: the spend
    totals the counters answered say so, or are unknown (empty)."""
    from billing import services

    policy = _policy(workspace_id)
    workspace_spend = spend.get(f"ws:{workspace_id}")
    workspace_due = bool(policy.workspace_thresholds) and (
        workspace_spend is None or workspace_spend >= min(policy.workspace_thresholds)
    )
    organization_spend = spend.get("org")
    organization_due = bool(policy.organization_thresholds) and (
        organization_spend is None or organization_spend >= min(policy.organization_thresholds)
    )
    if not (workspace_due or organization_due):
        return
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return
    if workspace_due:
        workspace = Workspace.objects.filter(pk=workspace_id).first()
        services.spend_notifications_check(organization=organization, workspace=workspace)
    if organization_due:
        services.spend_notifications_check(organization=organization, workspace=None)
