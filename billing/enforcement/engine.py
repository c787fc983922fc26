"""Authorize and settle, synchronous and asynchronous.

The synchronous and asynchronous functions share every step but the round trip to the
counter store: `_prepare_*` builds the request from cached lookups (in a thread, for the
asynchronous twins, when a lookup has to reach the database), the backend runs it (one Lua
script, one round trip), and `_decide` or `_finish` turn its answer into the engine's.

How a settle records its usage exactly once:

- With `USAGE_QUEUE` (and Redis) the settle's one script replaces the hold by the real cost,
  remembers the reservation as settled and queues the record, atomically; the worker stores
  queued records with ON CONFLICT DO NOTHING. A reservation the store no longer holds (it
  expired, or the store lost it) is looked up in the database, then counted and queued.
- Otherwise the record is inserted first (ON CONFLICT DO NOTHING, under the organization's
  write gate) and the counters are settled inside the same transaction: a duplicate finds the
  record and changes nothing; a failure before the commit changes nothing in the database,
  so the reservation can be settled again, and the store, which remembers the first
  attempt's answer, counts it once and gives that answer again.
- When the store cannot be reached, the record goes to the database alone, and the
  organization's counters are reconciled from it once the store answers. With `USAGE_QUEUE`
  an earlier settle's record may wait in the store's queue, so a settle the database did not
  know raises `SettleUnconfirmed` (its record stored): its retry answers `already_settled`.
"""

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, transaction

from billing import money, pricing, services
from billing import usage as records
from billing.enforcement import policy, reservations, spend, wire
from billing.enforcement.policy import BucketSpec, KeyContext, ModelInfo, NeedsDatabase
from billing.enforcement.reservations import ReservationInfo
from billing.enforcement.wire import Decision, EnforcementError, Settlement, error_body
from billing.limiter import (
    ABSENT,
    ALREADY,
    MICRO,
    CheckRequest,
    CheckResult,
    LimiterUnavailable,
    SettleRequest,
    SettleResult,
    retry_after,
)
from billing.models import Limiter, UsageRecord

logger = logging.getLogger(__name__)

RPM = Limiter.REQUESTS_PER_MINUTE
ITPM = Limiter.INPUT_TOKENS_PER_MINUTE
OTPM = Limiter.OUTPUT_TOKENS_PER_MINUTE
UNITS: dict[str, str] = {RPM: "requests", ITPM: "input_tokens", OTPM: "output_tokens"}
UNKNOWN_RESERVATION = "reservation_id: unknown reservation."


# -- Authorize ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Authorization:
    context: KeyContext
    model: ModelInfo
    specs: tuple[BucketSpec, ...]  # the plan's buckets, described for answers
    kinds: tuple[tuple[str, tuple[int, ...]], ...]  # each limiter's buckets, by index
    request: CheckRequest


def _prepare_authorize(
    secret: Any,
    model_name: Any,
    input_tokens: Any,
    max_tokens: Any,
    now: float,
    scope: str | None,
    cached_only: bool,
) -> _Authorization | Decision:
    name = wire.clean_model_name(model_name)
    input_tokens = wire.clean_count(
        input_tokens, "input_tokens", minimum=0, maximum=wire.MAX_INPUT_TOKENS
    )
    max_tokens = wire.clean_count(
        max_tokens, "max_tokens", minimum=1, maximum=wire.MAX_OUTPUT_TOKENS
    )
    context = policy.key_context(secret, cached_only=cached_only)
    if context is None or (scope is not None and context.organization_id != scope):
        return Decision(False, 401, error_body("authentication_error", "invalid x-api-key"))
    model = policy.model_by_name(name, cached_only=cached_only)
    if model is None:
        raise EnforcementError(f"model: unknown model {name[:100]!r}.")
    limits = policy.policy(context.workspace_id, cached_only=cached_only)
    plan, specs, kinds = limits.check_plan(model.group_id, model.group_slug)
    months = policy.months(now)
    request = CheckRequest(
        org=context.organization_id,
        plan=plan,
        now=now,
        month=months.this,
        previous_month=months.previous,
        reservation_id=reservations.issue(
            organization_id=context.organization_id,
            workspace_id=context.workspace_id,
            api_key_id=context.api_key_id,
            model_id=model.model.pk,
            at=now,
        ),
        expires_at=now + policy.setting("RESERVATION_SECONDS"),
        input_tokens=input_tokens,
        output_tokens=max_tokens,
        cost=model.worst_case_micro(input_tokens, max_tokens),
    )
    return _Authorization(context, model, specs, kinds, request)


def _admitted(authorization: _Authorization) -> Decision:
    return Decision(
        True,
        reservation_id=authorization.request.reservation_id,
        api_key_id=authorization.context.api_key_public_id,
        workspace_id=authorization.context.workspace_public_id,
    )


# Settles the counter store missed, sent to it once it answers this process again: checks
# that failed on their way back (the store stalled, say) may still have run there and left a
# hold for a request that was refused, cancelled like a settle of no usage; and settles that
# were written to the database alone, whose holds are replaced by their cost (nothing is
# queued: the database has the record).
_missed: list[SettleRequest] = []
_missed_lock = threading.Lock()


def _missed_settle(request: SettleRequest) -> None:
    with _missed_lock:
        _missed.append(replace(request, record="", late=False))


def _unavailable(authorization: _Authorization) -> Decision:
    logger.error("The limiter's counter store cannot be reached.")
    if settings.LIMITER_FAIL_OPEN:
        return _admitted(authorization)
    request = authorization.request
    _missed_settle(
        SettleRequest(
            org=request.org,
            now=request.now,
            month=request.month,
            previous_month=request.previous_month,
            reservation_id=request.reservation_id,
            output_tokens=0,
            input_tokens=0,
            cost=0,
            cost_text="0",
            keep_until=request.expires_at,
            record_month=request.month,
            spend_names=(),
            cancel=True,
        )
    )
    return Decision(False, 529, error_body("overloaded_error", "Overloaded"))


def _send_missed(now: float) -> None:
    """Send them as of `now` (the caller's time, not the time each was missed: holds that
    expired meanwhile are given back first). Raises LimiterUnavailable (keeping what is
    left) when the store still cannot be reached."""
    with _missed_lock:
        pending = list(_missed)
        _missed.clear()
    counters = policy.backend()
    for index, request in enumerate(pending):
        try:
            counters.settle(replace(request, now=now))
        except LimiterUnavailable:
            with _missed_lock:
                _missed.extend(pending[index:])
            raise


def missed_settles_pending() -> int:
    """How many settles the counter store missed wait in this process to be sent to it."""
    return len(_missed)


def send_missed_settles(*, now: float | None = None) -> bool:
    """Send the counter store what it missed (see above); whether nothing is left."""
    if _missed:
        try:
            _send_missed(time.time() if now is None else now)
        except LimiterUnavailable:
            return False
    return True


def _header_values(spec: BucketSpec, level: float, now: float) -> tuple[str, str, str]:
    """An `anthropic-ratelimit-*` triple: the limit, what remains, when it is full again."""
    capacity = spec.capacity
    return (
        spec.capacity_text,
        str(max(0, math.floor(level))),
        wire.rfc3339(now + math.ceil((capacity - level) * 60 / capacity)),
    )


HEADER_PREFIXES = {
    kind: tuple(f"anthropic-ratelimit-{word}-{part}" for part in ("limit", "remaining", "reset"))
    for kind, word in wire.HEADER_NAMES.items()
}
TOKENS_HEADERS = tuple(
    f"anthropic-ratelimit-tokens-{part}" for part in ("limit", "remaining", "reset")
)


def _rate_headers(
    authorization: _Authorization, levels: list[float], now: float, refused: int | None
) -> dict[str, str]:
    """anthropic-ratelimit-* headers from the most restrictive bucket of each kind (the one
    that refused, for its kind), and `tokens-*` from the most restrictive token bucket (the
    one that refused, if a token bucket refused). `levels` are in the plan's order; a
    refusal by spend has none, and no headers."""
    headers: dict[str, str] = {}
    if not levels:
        return headers
    specs = authorization.specs
    tokens: tuple[str, str, str] | None = None
    tokens_level = math.inf
    tokens_refused = False
    for kind, indices in authorization.kinds:
        if refused in indices:
            index = refused
        else:
            index = indices[0]
            for other in indices[1:]:
                if levels[other] < levels[index]:
                    index = other
        level = levels[index]
        triple = _header_values(specs[index], level, now)
        limit, remaining, reset = HEADER_PREFIXES[kind]
        headers[limit], headers[remaining], headers[reset] = triple
        if kind == RPM:
            continue
        if index == refused:
            tokens, tokens_refused = triple, True
        elif not tokens_refused and level < tokens_level:
            tokens, tokens_level = triple, level
    if tokens is not None:
        limit, remaining, reset = TOKENS_HEADERS
        headers[limit], headers[remaining], headers[reset] = tokens
    return headers


def _refusal(authorization: _Authorization, result: CheckResult, now: float) -> Decision:
    model = authorization.model
    if result.refused_bucket:
        index = authorization.request.plan.bucket_names.index(result.refused_bucket)
        spec = authorization.specs[index]
        headers = _rate_headers(authorization, result.levels, now, index)
        level = result.levels[index]
        bucket = authorization.request.bucket_checks()[index]
        retry = max(1, math.ceil(retry_after(bucket, level)))
        headers["retry-after"] = str(retry)
        _limit, remaining, reset = _header_values(spec, level, now)
        where = "your workspace's" if spec.scope == "workspace" else "your organization's"
        message = (
            f"This request would exceed {where} rate limit of {spec.capacity:,} "
            f"{wire.LIMITER_WORDS[spec.limiter]} for {model.group_name}. "
            f"Please retry after {retry} second{'s' if retry != 1 else ''}."
        )
        rate_details = {
            "scope": spec.scope,
            "limiter": spec.limiter,
            "model_group": model.group_slug,
            "limit": spec.capacity,
            "used": spec.capacity - int(remaining),
            "requested": bucket.amount,
            "remaining": int(remaining),
            "unit": UNITS[spec.limiter],
            "reset": reset,
            "retry_after": retry,
        }
        return Decision(
            False,
            429,
            error_body("rate_limit_error", message, **rate_details),
            headers,
            limiter=spec.limiter,
        )
    headers = _rate_headers(authorization, result.levels, now, None)
    assert result.refused_spend is not None
    _name, tag = result.refused_spend
    months = policy.months(now)
    resumes = wire.rfc3339(months.next_start)
    when = f"{resumes[:10]} at 00:00 UTC"
    spend_limit = next(
        x.limit
        for spend in authorization.request.plan.spends
        for x in spend.limits
        if x.tag == tag and spend.name == result.refused_spend[0]
    )
    limiter_name = wire.SPEND_LIMITERS[tag]
    details: dict[str, Any] = {
        "scope": "workspace" if tag == "workspace" else "organization",
        "limiter": limiter_name,
        "limit": money.micro_cents_text(spend_limit),
        "used": money.micro_cents_text(result.spend_used),
        "requested": money.micro_cents_text(authorization.request.cost),
        "unit": "cents",
        "reset": resumes,
    }
    if tag == "workspace":
        message = f"You have reached your specified workspace API usage limits. You will regain access on {when}."
        body = error_body("invalid_request_error", message, **details)
        return Decision(False, 400, body, headers, limiter=limiter_name)
    if tag == "organization":
        message = (
            f"You have reached your specified API usage limits. You will regain access on {when}."
        )
        body = error_body("invalid_request_error", message, **details)
        return Decision(False, 400, body, headers, limiter=limiter_name)
    message = f"Your organization has reached its monthly usage tier spend limit. Access resumes on {when}."
    body = error_body(
        "rate_limit_error", message, error_code="enforced_spend_limit_reached", **details
    )
    return Decision(False, 429, body, headers, limiter=limiter_name)


def _decide(authorization: _Authorization, result: CheckResult, now: float) -> Decision:
    if not result.admitted:
        return _refusal(authorization, result, now)
    decision = _admitted(authorization)
    decision.headers = _rate_headers(authorization, result.levels, now, None)
    return decision


def _refusal_counted(
    authorization: _Authorization, decision: Decision, now: float
) -> dict[str, Any]:
    """The arguments of `usage.count_refusal` for this refusal."""
    return {
        "api_key_id": authorization.context.api_key_id,
        "organization_id": authorization.context.organization_id,
        "workspace_id": authorization.context.workspace_id,
        "model_id": authorization.model.model.pk,
        "limiter": decision.limiter or "",
        "at": datetime.fromtimestamp(now, UTC),
    }


def _count_refusal(authorization: _Authorization, decision: Decision, now: float) -> None:
    records.count_refusal(**_refusal_counted(authorization, decision, now))


def authorize(
    secret: Any,
    model: Any,
    input_tokens: Any,
    max_tokens: Any,
    *,
    now: float | None = None,
    scope: str | None = None,
) -> Decision:
    """Check one request against every applicable limiter; see the package's description."""
    now = time.time() if now is None else now
    prepared = _prepare_authorize(
        secret, model, input_tokens, max_tokens, now, scope, cached_only=False
    )
    if isinstance(prepared, Decision):
        return prepared
    counters = policy.backend()
    try:
        # Before the check, so that holds this process knows are settled do not refuse it.
        if _missed:
            _send_missed(now)
        if spend.diverged():
            spend.reconcile_diverged(now=now)
        result = counters.check(prepared.request)
        if result.missing_spend:
            spend.reconcile(
                prepared.context.organization_id, now=now, names=tuple(result.missing_spend)
            )
            result = counters.check(prepared.request)
    except LimiterUnavailable:
        return _unavailable(prepared)
    decision = _decide(prepared, result, now)
    if not decision.admitted:
        _count_refusal(prepared, decision, now)
    return decision


async def aauthorize(
    secret: Any,
    model: Any,
    input_tokens: Any,
    max_tokens: Any,
    *,
    now: float | None = None,
    scope: str | None = None,
    count_refusal: Callable[..., None] | None = None,
) -> Decision:
    """`authorize` for an event loop: the same check, one round trip on `redis.asyncio`.
    A refusal is counted by `count_refusal` when given (called in the loop with the
    arguments of `usage.count_refusal`), else written in a thread before the answer."""
    now = time.time() if now is None else now
    try:
        prepared = _prepare_authorize(
            secret, model, input_tokens, max_tokens, now, scope, cached_only=True
        )
    except NeedsDatabase:
        prepared = await sync_to_async(_prepare_authorize)(
            secret, model, input_tokens, max_tokens, now, scope, False
        )
    if isinstance(prepared, Decision):
        return prepared
    counters = policy.backend()
    try:
        if _missed:
            await sync_to_async(_send_missed)(now)
        if spend.diverged():
            await sync_to_async(spend.reconcile_diverged)(now=now)
        result = await counters.acheck(prepared.request)
        if result.missing_spend:
            await sync_to_async(spend.reconcile)(
                prepared.context.organization_id, now=now, names=tuple(result.missing_spend)
            )
            result = await counters.acheck(prepared.request)
    except LimiterUnavailable:
        return _unavailable(prepared)
    decision = _decide(prepared, result, now)
    if not decision.admitted:
        if count_refusal is not None:
            count_refusal(**_refusal_counted(prepared, decision, now))
        else:
            await sync_to_async(_count_refusal)(prepared, decision, now)
    return decision


# -- Settle ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Settle:
    info: ReservationInfo
    model: ModelInfo
    record: UsageRecord
    micro_cents: int
    request: SettleRequest


def _prepare_settle(
    reservation_id: Any, usage: Any, now: float, scope: str | None, cached_only: bool
) -> _Settle:
    info = reservations.verify(reservation_id)
    if info is None or (scope is not None and info.organization_id != scope):
        raise EnforcementError(UNKNOWN_RESERVATION)
    parsed = wire.usage_from_messages_api(usage)
    model = policy.model_by_id(info.model_id, cached_only=cached_only)
    key = policy.key_by_id(info.api_key_id, cached_only=cached_only)
    if model is None or key is None:
        raise EnforcementError(UNKNOWN_RESERVATION)
    if key.workspace_id != info.workspace_id or key.organization_id != info.organization_id:
        raise EnforcementError(
            "reservation_id: its organization, workspace and API key do not belong together."
        )
    cost = pricing.cost_cents(
        model.model,
        parsed.tokens,
        service_tier=parsed.service_tier,
        web_search_requests=parsed.server_tools["web_search_requests"],
    )
    micro = records.to_micro(cost)
    at = datetime.fromtimestamp(info.at, UTC)
    record = UsageRecord(
        organization_id=info.organization_id,
        workspace_id=info.workspace_id,
        api_key_id=info.api_key_id,
        model_id=info.model_id,
        cost_cents=cost,
        created_at=at,
        request_id=reservation_id,
        **parsed.record_fields(),
    )
    months = policy.months(now)
    record_month = policy.month_of(info.at)
    request = SettleRequest(
        org=info.organization_id,
        now=now,
        month=months.this,
        previous_month=months.previous,
        reservation_id=reservation_id,
        output_tokens=parsed.tokens["output_tokens"],
        input_tokens=parsed.counted_input(model.cache_reads_count_as_input),
        cost=micro,
        cost_text=str(cost),
        keep_until=now + policy.setting("RESERVATION_SECONDS"),
        record_month=record_month,
        spend_names=(f"ws:{info.workspace_id}", "org"),
    )
    return _Settle(info, model, record, micro, request)


def _overage(prepared: _Settle, result: SettleResult) -> wire.Overage | None:
    """What the settle counted beyond its reservation and above the spend limits (see
    `wire.Overage`): None when it counted no more than its hold, or, for a reservation no
    longer held, when it passed no limit."""
    reserved = result.reserved
    added = prepared.micro_cents - (reserved or 0)  # what the counters took beyond the hold
    if added <= 0:
        return None
    limits = policy.policy(prepared.info.workspace_id)
    candidates: list[tuple[str, str, int, int | None]] = []
    if limits.workspace_spend_limit is not None:
        candidates.append(
            (
                "workspace",
                "workspace",
                limits.workspace_spend_limit,
                result.spend.get(f"ws:{prepared.info.workspace_id}"),
            )
        )
    candidates += [
        ("organization", limit.tag, limit.limit, result.spend.get("org"))
        for limit in limits.organization_limits
    ]
    passed = [
        (scope, tag, limit, used)
        for scope, tag, limit, used in candidates
        if used is not None and used > limit
    ]
    if reserved is None and not passed:
        return None
    over_limit = max((min(added, used - limit) for _s, _t, limit, used in passed), default=0)
    return wire.Overage(
        reserved_cents=None if reserved is None else Decimal(reserved) / MICRO,
        over_cents=None if reserved is None else Decimal(added) / MICRO,
        over_limit_cents=Decimal(over_limit) / MICRO,
        limits_passed=tuple(
            wire.LimitPassed(scope, wire.SPEND_LIMITERS[tag], limit // MICRO, Decimal(used) / MICRO)
            for scope, tag, limit, used in passed
        ),
        resets_at=wire.rfc3339(policy.months(prepared.request.now).next_start),
    )


def _after_settle(prepared: _Settle, result: SettleResult | None) -> Settlement:
    """What follows a settle that counted: the overage (recorded in the audit log when it
    passed a limit) and the answer."""
    overage = _overage(prepared, result) if result is not None else None
    if overage is not None and overage.limits_passed:
        try:
            services.spend_limit_passed_record(
                organization_id=prepared.info.organization_id,
                workspace_id=prepared.info.workspace_id,
                request_id=prepared.record.request_id,
                overage=overage.to_json(),
            )
        except DatabaseError:
            logger.exception("The overage of %s could not be audited.", prepared.record.request_id)
    return Settlement(prepared.record.request_id, prepared.record.cost_cents, overage=overage)


def _already(prepared: _Settle, cost: Decimal) -> Settlement:
    return Settlement(prepared.record.request_id, cost, already_settled=True)


def _reconcile_now(organization_id: str, now: float) -> None:
    try:
        spend.reconcile(organization_id, now=now)
    except LimiterUnavailable:
        spend.mark_diverged(organization_id)


def _record_and_settle(prepared: _Settle, *, with_counters: bool) -> Settlement:
    """Store the record, then (in the same transaction) settle the counters: exactly once,
    whatever fails and wherever, since a failure before the commit leaves nothing stored."""
    record = prepared.record
    result = None
    with transaction.atomic():
        records.enter_write_gate(record.organization_id)
        if not records.insert_once(record):
            cost = records.recorded_cost(record.request_id, record.created_at)
            return _already(prepared, cost if cost is not None else record.cost_cents)
        if with_counters:
            try:
                if _missed:
                    _send_missed(prepared.request.now)
                result = policy.backend().settle(prepared.request)
            except LimiterUnavailable:
                logger.warning(
                    "The counter store cannot be reached; %s recorded in the database only.",
                    record.request_id,
                )
                _missed_settle(prepared.request)
                spend.mark_diverged(prepared.info.organization_id)
        else:
            _missed_settle(prepared.request)
            spend.mark_diverged(prepared.info.organization_id)
    if result is not None and result.status == ALREADY:
        # Settled in the store by an earlier attempt whose transaction did not commit: this
        # is the record's first settle, answered as that attempt would have been. What that
        # attempt counted may have gone since (a reconcile in between found neither its hold
        # nor its record; or the counters did not exist then), so they are set from the
        # database, which has the record now.
        _reconcile_now(prepared.info.organization_id, prepared.request.now)
    if settings.USAGE_ROLLUP_INLINE:
        records.rollup_pending()
    try:
        spend.notify_if_due(
            prepared.info.organization_id,
            prepared.info.workspace_id,
            result.spend if result is not None else {},
        )
    except DatabaseError:
        logger.exception("Spend notifications after %s could not be checked.", record.request_id)
    return _after_settle(prepared, result)


def _queues(counters) -> bool:
    return settings.USAGE_QUEUE and counters.queues_usage


def _queued_request(prepared: _Settle) -> SettleRequest:
    record_text = records.queued_record(
        prepared.record, month=prepared.request.record_month, micro_cents=prepared.micro_cents
    )
    return replace(prepared.request, record=record_text, late=False)


def _queued_outcome(prepared: _Settle, result: SettleResult) -> Settlement:
    if result.status == ALREADY:
        return _already(prepared, Decimal(result.settled_cost or "0"))
    return _after_settle(prepared, result)


def _record_unconfirmed(prepared: _Settle) -> Settlement:
    """With `USAGE_QUEUE`, when the store cannot be reached: an earlier settle's record may
    wait in its queue, so only a record the database has tells a repeat. Otherwise the record
    is stored here (the worker skips a queued copy) and the settle raises SettleUnconfirmed,
    so that the retry answers `already_settled` whichever settle came first."""
    settlement = _record_and_settle(prepared, with_counters=False)
    if settlement.already_settled:
        return settlement
    raise wire.SettleUnconfirmed(settlement)


def _recorded_before(prepared: _Settle) -> Settlement | None:
    cost = records.recorded_cost(prepared.record.request_id, prepared.record.created_at)
    return None if cost is None else _already(prepared, cost)


def settle(
    reservation_id: Any,
    usage: Any,
    *,
    now: float | None = None,
    scope: str | None = None,
) -> Settlement:
    """Record a request's real usage and release its reservation, exactly once; see the
    package's description."""
    now = time.time() if now is None else now
    prepared = _prepare_settle(reservation_id, usage, now, scope, cached_only=False)
    counters = policy.backend()
    if not _queues(counters):
        return _record_and_settle(prepared, with_counters=True)
    request = _queued_request(prepared)
    try:
        if _missed:
            _send_missed(now)
        result = counters.settle(request)
        if result.status == ABSENT:
            earlier = _recorded_before(prepared)
            if earlier is not None:
                return earlier
            result = counters.settle(replace(request, late=True))
    except LimiterUnavailable:
        logger.warning("The counter store cannot be reached; recording usage in the database.")
        return _record_unconfirmed(prepared)
    return _queued_outcome(prepared, result)


async def asettle(
    reservation_id: Any,
    usage: Any,
    *,
    now: float | None = None,
    scope: str | None = None,
) -> Settlement:
    """`settle` for an event loop. With `USAGE_QUEUE` it is one round trip on `redis.asyncio`
    and no SQL; without, the record is written in a thread, as `settle` writes it."""
    now = time.time() if now is None else now
    try:
        prepared = _prepare_settle(reservation_id, usage, now, scope, cached_only=True)
    except NeedsDatabase:
        prepared = await sync_to_async(_prepare_settle)(reservation_id, usage, now, scope, False)
    counters = policy.backend()
    if not _queues(counters):
        return await sync_to_async(_record_and_settle)(prepared, with_counters=True)
    request = _queued_request(prepared)
    try:
        if _missed:
            await sync_to_async(_send_missed)(now)
        result = await counters.asettle(request)
        if result.status == ABSENT:
            earlier = await sync_to_async(_recorded_before)(prepared)
            if earlier is not None:
                return earlier
            result = await counters.asettle(replace(request, late=True))
    except LimiterUnavailable:
        logger.warning("The counter store cannot be reached; recording usage in the database.")
        return await sync_to_async(_record_unconfirmed)(prepared)
    if result.status != ALREADY and prepared.micro_cents > (result.reserved or 0):
        return await sync_to_async(_queued_outcome)(prepared, result)  # reads the limits
    return _queued_outcome(prepared, result)
