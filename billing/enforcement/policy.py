"""What enforcement reads on every request, loaded once and cached: API keys, models, the
limits in force for a workspace, and the counter store (the limiter backend).

Each cache holds entries for `LIMITER_CACHE_SECONDS` (0: off), so a change made in the
console is enforced within that time. A lookup can be asked to answer only from the cache
(`cached_only`): it then raises `NeedsDatabase` on a miss, so that an asynchronous caller
runs the database part in a thread and everything else in the event loop.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import Q
from django.dispatch import receiver

from billing import limiter, pricing
from billing.limiter import MICRO, CheckPlan, PlannedBucket, PlannedSpend, SpendLimit
from billing.models import (
    Limiter,
    Model,
    OrganizationLimits,
    OrganizationRateLimit,
    SpendNotification,
    TierLimit,
    UsageTier,
    WorkspaceRateLimit,
    WorkspaceSpendLimit,
)
from workspaces import services as workspace_services
from workspaces.models import ApiKey, Workspace


class NeedsDatabase(Exception):
    """A cached-only lookup missed: the answer has to be loaded from the database."""


# Settings read on every request, each read once: Django's settings object costs about a
# microsecond an attribute. Only settings nothing changes while serving; `override_settings`
# (and pytest-django's `settings`) send setting_changed, which forgets them.
_settings: dict[str, Any] = {}


def setting(name: str) -> Any:
    try:
        return _settings[name]
    except KeyError:
        value = _settings[name] = getattr(settings, name)
        return value


@receiver(setting_changed)
def _forget_settings(**kwargs: Any) -> None:
    _settings.clear()
    _lookup_key.clear()


_MISSING = object()


class TTLCache:
    """A small in-process cache: enforcement reads keys, models and limits on every request,
    and they change rarely. `LIMITER_CACHE_SECONDS` bounds how stale they may be (0: off).
    Nothing is cached for None (a miss is looked up again)."""

    every: list["TTLCache"] = []
    MAX_ITEMS = 50_000

    def __init__(self) -> None:
        self._items: dict[Any, tuple[float, Any]] = {}
        TTLCache.every.append(self)

    def get(self, key: Any, load: Callable[[], Any], *, cached_only: bool = False) -> Any:
        ttl = setting("LIMITER_CACHE_SECONDS")
        now = time.monotonic()
        if ttl > 0:
            hit = self._items.get(key, _MISSING)
            if hit is not _MISSING and hit[0] > now:  # type: ignore[index]
                return hit[1]  # type: ignore[index]
        if cached_only:
            raise NeedsDatabase
        value = load()
        if ttl > 0 and value is not None:
            if len(self._items) > self.MAX_ITEMS:
                self._items.clear()
            self._items[key] = (now + ttl, value)
        return value

    def clear(self) -> None:
        self._items.clear()


_keys = TTLCache()
_keys_by_id = TTLCache()
_models = TTLCache()
_policies = TTLCache()


def clear_caches() -> None:
    for cache in TTLCache.every:
        cache.clear()


# -- Keys and models ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyContext:
    api_key_id: int
    api_key_public_id: str
    workspace_id: int
    workspace_public_id: str | None  # None for the Default workspace, as the API shows it
    organization_id: str
    expires_at: float | None  # epoch seconds


def _context(key: ApiKey) -> KeyContext:
    return KeyContext(
        api_key_id=key.pk,
        api_key_public_id=key.public_id,
        workspace_id=key.workspace_id,
        workspace_public_id=None if key.workspace.is_default else key.workspace.public_id,
        organization_id=str(key.organization_id),
        expires_at=None if key.expires_at is None else key.expires_at.timestamp(),
    )


_lookup_key: list[bytes] = []


def _cache_key(secret: str) -> bytes:
    """What the key cache knows a secret by: a keyed BLAKE2b digest, a third of the cost of
    the HMAC the database stores (computed only when the cache misses); never the secret."""
    if not _lookup_key:
        base = setting("SECRET_HASH_KEY") or setting("SECRET_KEY")
        _lookup_key.append(hashlib.blake2b(f"key cache {base}".encode(), digest_size=32).digest())
    return hashlib.blake2b(secret.encode(), digest_size=20, key=_lookup_key[0]).digest()


def key_context(secret: Any, *, cached_only: bool = False) -> KeyContext | None:
    """The usable key whose secret this is, else None."""
    if not isinstance(secret, str) or len(secret) > 200:
        return None

    def load() -> KeyContext | None:
        key = workspace_services.api_key_authenticate(secret)
        return None if key is None else _context(key)

    context = _keys.get(_cache_key(secret), load, cached_only=cached_only)
    if context is not None and context.expires_at is not None and context.expires_at <= time.time():
        return None
    return context


def key_by_id(api_key_id: int, *, cached_only: bool = False) -> KeyContext | None:
    """Any key by its primary key, usable or not: a request admitted before its key was
    disabled or deleted is still settled and recorded."""

    def load() -> KeyContext | None:
        key = ApiKey.objects.select_related("workspace").filter(pk=api_key_id).first()
        return None if key is None else _context(key)

    return _keys_by_id.get(api_key_id, load, cached_only=cached_only)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A catalog model as enforcement uses it."""

    model: Model
    group_id: int
    group_slug: str
    group_name: str
    cache_reads_count_as_input: bool
    prices: pricing.ReservationPrices

    def worst_case_micro(self, input_tokens: int, max_tokens: int) -> int:
        """The most a request can cost, in micro-cents (`pricing.ReservationPrices`)."""
        return self.prices.worst_case_micro_cents(input_tokens, max_tokens)


def _model_info(model: Model | None) -> ModelInfo | None:
    if model is None:
        return None
    return ModelInfo(
        model=model,
        group_id=model.group_id,
        group_slug=model.group.slug,
        group_name=model.group.name,
        cache_reads_count_as_input=model.group.cache_reads_count_as_input,
        prices=pricing.reservation_prices(model),
    )


def model_by_name(name: str, *, cached_only: bool = False) -> ModelInfo | None:
    return _models.get(
        name,
        lambda: _model_info(Model.objects.select_related("group").filter(api_name=name).first()),
        cached_only=cached_only,
    )


def model_by_id(model_id: int, *, cached_only: bool = False) -> ModelInfo | None:
    return _models.get(
        ("id", model_id),
        lambda: _model_info(Model.objects.select_related("group").filter(pk=model_id).first()),
        cached_only=cached_only,
    )


# -- Limits ------------------------------------------------------------------------------------


# Bucket names are short: the check script reads them on every request.
BUCKET_NAMES: dict[str, str] = {
    Limiter.REQUESTS_PER_MINUTE: "rpm",
    Limiter.INPUT_TOKENS_PER_MINUTE: "itpm",
    Limiter.OUTPUT_TOKENS_PER_MINUTE: "otpm",
}
BUCKET_KINDS: dict[str, str] = {
    Limiter.REQUESTS_PER_MINUTE: limiter.REQUESTS,
    Limiter.INPUT_TOKENS_PER_MINUTE: limiter.INPUT,
    Limiter.OUTPUT_TOKENS_PER_MINUTE: limiter.OUTPUT,
}


@dataclass(frozen=True, slots=True)
class BucketSpec:
    name: str
    scope: str  # "workspace" or "organization"
    limiter: str
    capacity: int

    @property
    def capacity_text(self) -> str:
        return str(self.capacity)


# What a check of one model group touches (see `Policy.check_plan`): the plan the counters
# take, its buckets described for answers, and each limiter's buckets (indices in the plan).
Checked = tuple[CheckPlan, tuple[BucketSpec, ...], tuple[tuple[str, tuple[int, ...]], ...]]


@dataclass(frozen=True)
class Policy:
    """The limits in force for one workspace, exactly what enforcement needs."""

    organization_id: str
    workspace_id: int
    rate: dict[tuple[int, str], tuple[int | None, int]]  # (group, limiter) -> (workspace, org)
    workspace_spend_limit: int | None  # micro-cents
    organization_spend_limit: int | None  # the organization's own limit, micro-cents
    spend_cap: int | None  # the tier's (or staff's) monthly cap, micro-cents
    workspace_thresholds: tuple[int, ...]  # notification amounts, micro-cents
    organization_thresholds: tuple[int, ...]
    _plans: dict[int, Checked] = field(default_factory=dict, compare=False, repr=False)

    def check_plan(self, group_id: int, group_slug: str) -> Checked:
        """What a check of a request for a model group touches (built once): for each kind
        of limit the workspace's own bucket (when set) and the organization's, and the
        workspace's and the organization's spend; with the buckets described for answers,
        and grouped by limiter."""
        cached = self._plans.get(group_id)
        if cached is not None:
            return cached
        specs: list[BucketSpec] = []
        for limiter_name in (
            Limiter.REQUESTS_PER_MINUTE,
            Limiter.INPUT_TOKENS_PER_MINUTE,
            Limiter.OUTPUT_TOKENS_PER_MINUTE,
        ):
            values = self.rate.get((group_id, limiter_name))
            if values is None:
                continue
            workspace_value, organization_value = values
            if workspace_value is not None:
                specs.append(
                    BucketSpec(
                        f"ws:{self.workspace_id}:{group_slug}:{BUCKET_NAMES[limiter_name]}",
                        "workspace",
                        limiter_name,
                        workspace_value,
                    )
                )
            specs.append(
                BucketSpec(
                    f"org:{group_slug}:{BUCKET_NAMES[limiter_name]}",
                    "organization",
                    limiter_name,
                    organization_value,
                )
            )
        plan = CheckPlan(
            tuple(PlannedBucket(s.name, s.capacity, BUCKET_KINDS[s.limiter]) for s in specs),
            (
                PlannedSpend(f"ws:{self.workspace_id}", self.workspace_limits),
                PlannedSpend("org", self.organization_limits),
            ),
        )
        kinds = tuple(
            (name, indices)
            for name in BUCKET_NAMES
            if (indices := tuple(i for i, spec in enumerate(specs) if spec.limiter == name))
        )
        self._plans[group_id] = result = (plan, tuple(specs), kinds)
        return result

    @property
    def workspace_limits(self) -> tuple[SpendLimit, ...]:
        if self.workspace_spend_limit is None:
            return ()
        return (SpendLimit(self.workspace_spend_limit, "workspace"),)

    @property
    def organization_limits(self) -> tuple[SpendLimit, ...]:
        # The lower limit speaks first: an organization's own limit under its cap is what it hits.
        limits = [
            SpendLimit(limit, tag)
            for limit, tag in (
                (self.organization_spend_limit, "organization"),
                (self.spend_cap, "tier_cap"),
            )
            if limit is not None
        ]
        return tuple(sorted(limits, key=lambda limit: limit.limit))


def _micro(cents: int | None) -> int | None:
    return None if cents is None else cents * MICRO


def _load_policy(workspace_id: int) -> Policy:
    """Six queries: the workspace with its spend limit, the organization's tier and limits,
    the rate limits of the tier, of staff overrides and of the workspace, the notification
    amounts. Nothing about spend so far: the counters hold that."""
    workspace = (
        Workspace.objects.filter(pk=workspace_id)
        .values("organization_id", "is_default")
        .annotate(
            own_spend_limit=WorkspaceSpendLimit.objects.filter(workspace=workspace_id).values(
                "amount_cents"
            )[:1]
        )
        .get()
    )
    organization_id = workspace["organization_id"]
    limits = (
        OrganizationLimits.objects.filter(organization_id=organization_id)
        .values(
            "tier_id",
            "custom_spend_cap_cents",
            "spend_limit_cents",
            "tier__monthly_spend_cap_cents",
        )
        .first()
    )
    if limits is None:
        tier = UsageTier.objects.order_by("position").values("pk", "monthly_spend_cap_cents")[0]
        tier_id, cap, own_limit = tier["pk"], tier["monthly_spend_cap_cents"], None
    else:
        tier_id = limits["tier_id"]
        cap = (
            limits["custom_spend_cap_cents"]
            if limits["custom_spend_cap_cents"] is not None
            else limits["tier__monthly_spend_cap_cents"]
        )
        own_limit = limits["spend_limit_cents"]
    organization_values = {
        (group, name): value
        for group, name, value in TierLimit.objects.filter(tier_id=tier_id).values_list(
            "model_group_id", "limiter", "value"
        )
    }
    # A staff override replaces the tier's value.
    organization_values.update(
        ((group, name), value)
        for group, name, value in OrganizationRateLimit.objects.filter(
            organization_id=organization_id
        ).values_list("model_group_id", "limiter", "value")
    )
    workspace_values = (
        {}
        if workspace["is_default"]
        else {
            (group, name): value
            for group, name, value in WorkspaceRateLimit.objects.filter(
                workspace_id=workspace_id
            ).values_list("model_group_id", "limiter", "value")
        }
    )
    rate = {key: (workspace_values.get(key), value) for key, value in organization_values.items()}
    thresholds = list(
        SpendNotification.objects.filter(organization_id=organization_id)
        .filter(Q(workspace_id=workspace_id) | Q(workspace__isnull=True))
        .values_list("workspace_id", "amount_cents")
    )
    return Policy(
        organization_id=str(organization_id),
        workspace_id=workspace_id,
        rate=rate,
        workspace_spend_limit=None
        if workspace["is_default"]
        else _micro(workspace["own_spend_limit"]),
        organization_spend_limit=_micro(own_limit),
        spend_cap=_micro(cap),
        workspace_thresholds=tuple(
            sorted(amount * MICRO for ws, amount in thresholds if ws is not None)
        ),
        organization_thresholds=tuple(
            sorted(amount * MICRO for ws, amount in thresholds if ws is None)
        ),
    )


def policy(workspace_id: int, *, cached_only: bool = False) -> Policy:
    return _policies.get(workspace_id, lambda: _load_policy(workspace_id), cached_only=cached_only)


# -- Months ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Months:
    this: str  # "2026-11"
    previous: str
    next_start: float  # when the next month begins (spend limits reset), epoch seconds


_months_cache: dict[int, Months] = {}


def months(now: float) -> Months:
    """The calendar month (UTC) of `now`, the one before, and when the next begins."""
    hour = int(now // 3600)
    cached = _months_cache.get(hour)
    if cached is not None:
        return cached
    moment = datetime.fromtimestamp(hour * 3600, UTC)
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    previous = start - timedelta(days=1)
    following = (start + timedelta(days=32)).replace(day=1)
    if len(_months_cache) > 1_000:
        _months_cache.clear()
    _months_cache[hour] = result = Months(
        f"{start:%Y-%m}", f"{previous:%Y-%m}", following.timestamp()
    )
    return result


def month_of(epoch: float) -> str:
    return months(epoch).this


# -- The counter store -------------------------------------------------------------------------


_backend: limiter.Backend | None = None


def backend() -> limiter.Backend:
    """The configured limiter backend: Redis (or Redis Cluster) with `REDIS_URL`, else this
    process's memory."""
    global _backend
    if _backend is None:
        _backend = (
            limiter.RedisBackend(settings.REDIS_URL, cluster=settings.REDIS_CLUSTER)
            if settings.REDIS_URL
            else limiter.LocalBackend()
        )
    return _backend


def use_backend(new: limiter.Backend | None) -> None:
    """Replace the backend (tests, benchmarks); None goes back to the configured one."""
    global _backend
    _backend = new
    clear_caches()
