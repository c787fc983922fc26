"""The catalog (model groups, models and their prices, usage tiers), the limits set on
organizations and workspaces, spend notifications, and usage records with their rollups.

Money: limits and thresholds are whole USD cents (integers); the cost of usage is a Decimal
number of cents, since one request can cost a fraction of a cent.
"""

from collections.abc import Iterable
from typing import TypedDict
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import AuditTarget, Organization, SecretKey
from console.ids import public_id_field
from workspaces.models import ApiKey, InferenceGeo, Workspace


class Digits(TypedDict):
    max_digits: int
    decimal_places: int


PRICE: Digits = {"max_digits": 12, "decimal_places": 4}  # USD per million tokens
COST: Digits = {"max_digits": 24, "decimal_places": 8}  # USD cents


class Limiter(models.TextChoices):
    REQUESTS_PER_MINUTE = "requests_per_minute", "Requests per minute"
    INPUT_TOKENS_PER_MINUTE = "input_tokens_per_minute", "Input tokens per minute"
    OUTPUT_TOKENS_PER_MINUTE = "output_tokens_per_minute", "Output tokens per minute"


class RateLimitType(models.TextChoices):
    """The limit types of Anthropic's Admin API. Console enforces its `Limiter`s, the input
    one written cache-aware for the model groups whose cache reads do not count toward it
    (`billing.services.ENFORCED_RATE_LIMIT_TYPES`)."""

    REQUESTS_PER_MINUTE = Limiter.REQUESTS_PER_MINUTE.value, Limiter.REQUESTS_PER_MINUTE.label
    INPUT_TOKENS_PER_MINUTE = (
        Limiter.INPUT_TOKENS_PER_MINUTE.value,
        Limiter.INPUT_TOKENS_PER_MINUTE.label,
    )
    INPUT_TOKENS_PER_MINUTE_CACHE_AWARE = (
        "input_tokens_per_minute_cache_aware",
        "Input tokens per minute, cache reads not counted",
    )
    OUTPUT_TOKENS_PER_MINUTE = (
        Limiter.OUTPUT_TOKENS_PER_MINUTE.value,
        Limiter.OUTPUT_TOKENS_PER_MINUTE.label,
    )
    TOKENS_PER_MINUTE = "tokens_per_minute", "Tokens per minute"
    TOKENS_PER_DAY = "tokens_per_day", "Tokens per day"
    TOOL_USES_PER_SECOND = "tool_uses_per_second", "Tool uses per second"
    FAST_ITPMCA = "fast_itpmca", "Fast mode input tokens per minute, cache reads not counted"
    FAST_OTPM = "fast_otpm", "Fast mode output tokens per minute"


class RateLimitGroupType(models.TextChoices):
    """What Anthropic's rate limits are grouped by; Console limits model groups."""

    MODEL_GROUP = "model_group", "Model group"
    BATCH = "batch", "Batch"
    FILES = "files", "Files"
    SKILLS = "skills", "Skills"
    TOKEN_COUNT = "token_count", "Token counting"
    WEB_SEARCH = "web_search", "Web search"


class SpendLimitScope(models.TextChoices):
    """Whose spend a limit of Anthropic's Spend Limits API caps. Console's limits are the
    organization's, a workspace's, and the usage tier's cap (`CONSOLE_SPEND_LIMIT_SCOPES`)."""

    ORGANIZATION = "organization", "Organization"
    WORKSPACE = "workspace", "Workspace"
    USAGE_TIER = "usage_tier", "Usage tier"
    ORGANIZATION_SERVICE = "organization_service", "Organization service"
    RBAC_GROUP = "rbac_group", "RBAC group"
    SEAT_TIER = "seat_tier", "Seat tier"
    USER = "user", "User"


CONSOLE_SPEND_LIMIT_SCOPES = (
    SpendLimitScope.ORGANIZATION,
    SpendLimitScope.WORKSPACE,
    SpendLimitScope.USAGE_TIER,
)


class SpendLimitPeriod(models.TextChoices):
    """The periods of Anthropic's spend limits; Console's limits are monthly."""

    MONTHLY = "monthly", "Monthly"
    WEEKLY = "weekly", "Weekly"
    DAILY = "daily", "Daily"


class ServiceTier(models.TextChoices):
    STANDARD = "standard", "Standard"
    BATCH = "batch", "Batch"
    PRIORITY = "priority", "Priority"
    PRIORITY_ON_DEMAND = "priority_on_demand", "Priority on demand"
    FLEX = "flex", "Flex"
    FLEX_DISCOUNT = "flex_discount", "Flex discount"


class ContextWindow(models.TextChoices):
    STANDARD = "0-200k", "Up to 200k tokens"
    LONG = "200k-1M", "200k to 1M tokens"


class Speed(models.TextChoices):
    STANDARD = "standard", "Standard"
    FAST = "fast", "Fast"


def service_tier_field() -> models.CharField:
    return models.CharField(
        max_length=20,
        choices=ServiceTier.choices,
        default=ServiceTier.STANDARD,
        db_default=ServiceTier.STANDARD,
    )


class Dimensions(models.Model):
    """How a request was served, as the gateway or the settle reports it. The defaults are
    the database's too, so rows written with SQL that names none of them get them."""

    service_tier = service_tier_field()
    inference_geo = models.CharField(
        max_length=10,
        choices=InferenceGeo.choices,
        default=InferenceGeo.NOT_AVAILABLE,
        db_default=InferenceGeo.NOT_AVAILABLE,
        blank=True,
    )
    speed = models.CharField(
        max_length=10, choices=Speed.choices, default=Speed.STANDARD, db_default=Speed.STANDARD
    )
    context_window = models.CharField(
        max_length=10,
        choices=ContextWindow.choices,
        default=ContextWindow.STANDARD,
        db_default=ContextWindow.STANDARD,
    )

    class Meta:
        abstract = True


DIMENSION_FIELDS = ("service_tier", "inference_geo", "speed", "context_window")


class ModelGroup(models.Model):
    """Models that share rate limits, e.g. "Claude Sonnet 4.x"."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(
        max_length=100, unique=True, help_text="Names the group in URLs and the API."
    )
    position = models.PositiveIntegerField(default=0, help_text="Order on the Limits pages.")
    cache_reads_count_as_input = models.BooleanField(
        default=False,
        help_text="Whether cache-read tokens count toward the input-tokens-per-minute limit.",
    )

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Model(models.Model):
    api_name = models.CharField("API name", max_length=100, unique=True)
    group = models.ForeignKey(ModelGroup, on_delete=models.PROTECT, related_name="models")
    input_price = models.DecimalField("input, $/MTok", **PRICE)
    output_price = models.DecimalField("output, $/MTok", **PRICE)
    cache_write_5m_price = models.DecimalField("cache write 5 min, $/MTok", **PRICE)
    cache_write_1h_price = models.DecimalField("cache write 1 h, $/MTok", **PRICE)
    cache_read_price = models.DecimalField("cache read, $/MTok", **PRICE)
    web_search_price = models.DecimalField(
        "web search, $ per 1,000 searches",
        default=0,
        help_text="What the web search tool costs with this model (Anthropic: $10 per 1,000).",
        **PRICE,
    )

    class Meta:
        ordering = ["group__position", "api_name"]

    def __str__(self) -> str:
        return self.api_name


class UsageTier(models.Model):
    name = models.CharField(max_length=50, unique=True)
    position = models.PositiveIntegerField(default=0)
    monthly_spend_cap_cents = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Empty: no cap (Custom tier)."
    )

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name


class GroupLimit(models.Model):
    """One limit of one model group: what tiers, staff overrides and workspaces each hold."""

    model_group = models.ForeignKey(ModelGroup, on_delete=models.CASCADE, related_name="+")
    limiter = models.CharField(max_length=40, choices=Limiter.choices)
    value = models.PositiveBigIntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.model_group_id} {self.limiter}={self.value}"


class TierLimit(GroupLimit):
    """A usage tier's default organization limit for one model group and limiter."""

    tier = models.ForeignKey(UsageTier, on_delete=models.CASCADE, related_name="limits")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tier", "model_group", "limiter"], name="tier_limit_unique"
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="tier_limit_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.tier} {self.model_group} {self.limiter}={self.value}"


class OrganizationLimits(models.Model):
    """An organization's usage tier, its own spend limit, and staff overrides."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="limits"
    )
    tier = models.ForeignKey(UsageTier, on_delete=models.PROTECT, related_name="+")
    custom_spend_cap_cents = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Staff only: replaces the tier's monthly cap."
    )
    spend_limit_cents = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Set by the organization's admins; at most the cap."
    )
    spend_limit_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    spend_limit_updated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "organization limits"

    def __str__(self) -> str:
        return f"Limits of {self.organization_id}"


class OrganizationRateLimit(GroupLimit):
    """A staff override of an organization's rate limit (replaces the tier's default)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "model_group", "limiter"], name="org_rate_limit_unique"
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="org_rate_limit_positive"),
        ]


class WorkspaceRateLimit(GroupLimit):
    """A workspace's own rate limit, at most the organization's."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="rate_limits")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "model_group", "limiter"], name="workspace_rate_limit_unique"
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="workspace_rate_limit_positive"),
        ]


class WorkspaceSpendLimit(models.Model):
    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="spend_limit"
    )
    amount_cents = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.amount_cents} cents"


class SpendNotification(models.Model):
    """E-mail when month-to-date spend reaches `amount_cents`: of the workspace, or of the
    whole organization when `workspace` is empty."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(
        Workspace,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="spend_notifications",
    )
    amount_cents = models.PositiveBigIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["amount_cents"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "amount_cents"],
                condition=Q(workspace__isnull=True),
                name="org_spend_notification_unique",
            ),
            models.UniqueConstraint(
                fields=["workspace", "amount_cents"],
                condition=Q(workspace__isnull=False),
                name="workspace_spend_notification_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"at {self.amount_cents} cents"


class SpendNotificationDelivery(models.Model):
    """A notification sent for one calendar month (UTC): at most one per month."""

    notification = models.ForeignKey(
        SpendNotification, on_delete=models.CASCADE, related_name="deliveries"
    )
    month = models.DateField(help_text="The first day of the month (UTC).")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "month"], name="spend_notification_once_a_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} for {self.month}"


class ServerToolUse(models.Model):
    """A request's server tool requests (the Messages API's `usage.server_tool_use`). The
    defaults are the database's too, as for `Dimensions`."""

    web_search_requests = models.PositiveBigIntegerField(default=0, db_default=0)
    web_fetch_requests = models.PositiveBigIntegerField(default=0, db_default=0)

    class Meta:
        abstract = True


class UsageRecord(Dimensions, ServerToolUse):
    """One API request's tokens, server tool requests and cost, and how it was served."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="+")
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="+")
    uncached_input_tokens = models.PositiveBigIntegerField(default=0)
    cache_creation_5m_tokens = models.PositiveBigIntegerField(default=0)
    cache_creation_1h_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost_cents = models.DecimalField(**COST)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The reservation this usage settled (empty for usage recorded directly).
    request_id = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            # A settle is stored once, however often its queued record is handed out. On
            # PostgreSQL a unique index must hold the partition key, hence `created_at`.
            models.UniqueConstraint(
                fields=["request_id", "created_at"],
                condition=~Q(request_id=""),
                name="usage_record_request_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_id} at {self.created_at}"


class UsageSums(ServerToolUse):
    """Token counts, server tool requests, requests and cost summed over a period, per
    workspace and model."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="+")
    requests = models.PositiveBigIntegerField(default=0)
    uncached_input_tokens = models.PositiveBigIntegerField(default=0)
    cache_creation_5m_tokens = models.PositiveBigIntegerField(default=0)
    cache_creation_1h_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost_cents = models.DecimalField(default=0, **COST)

    class Meta:
        abstract = True


class UsageTotals(UsageSums, Dimensions):
    """The same sums, per API key and the request's dimensions too."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class UsageWorkspaceDay(UsageSums):
    """Usage per UTC day, workspace, model and service tier (its prices), without the key:
    what reports over many workspaces read when no key is chosen (a tenth of the rows of
    `UsageDaily`, or fewer)."""

    day = models.DateField()
    service_tier = service_tier_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "workspace", "model", "service_tier"],
                name="usage_workspace_day_unique",
            ),
        ]
        indexes = [models.Index(fields=["organization", "day"], name="usage_workspace_day_org_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.workspace_id} {self.model_id}"


class UsageDaily(UsageTotals):
    """Usage per UTC day: what spend, the Cost page and day charts read."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "workspace", "api_key", "model", *DIMENSION_FIELDS],
                name="usage_daily_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "day"], name="usage_daily_org_day"),
            models.Index(fields=["workspace", "day"], name="usage_daily_workspace_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.workspace_id} {self.model_id}"


class UsageHour(UsageTotals):
    hour = models.DateTimeField(help_text="The start of the hour (UTC).")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "workspace", "api_key", "model", *DIMENSION_FIELDS],
                name="usage_hour_unique",
            ),
        ]
        indexes = [models.Index(fields=["organization", "hour"], name="usage_hour_org_hour")]

    def __str__(self) -> str:
        return f"{self.hour} {self.workspace_id} {self.model_id}"


class UsageMinute(UsageTotals):
    minute = models.DateTimeField(help_text="The start of the minute (UTC).")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "workspace", "api_key", "model", *DIMENSION_FIELDS],
                name="usage_minute_unique",
            ),
        ]
        indexes = [models.Index(fields=["organization", "minute"], name="usage_minute_org_minute")]

    def __str__(self) -> str:
        return f"{self.minute} {self.workspace_id} {self.model_id}"


class RollupCursor(models.Model):
    """How far raw usage records have been added to the rollups (one row)."""

    last_record_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"rolled up to record {self.last_record_id}"


class RefusalMinute(models.Model):
    """Requests refused, per minute, workspace, key, model and the limiter that refused."""

    minute = models.DateTimeField()
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="+")
    limiter = models.CharField(max_length=40)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "workspace", "api_key", "model", "limiter"],
                name="refusal_minute_unique",
            ),
        ]
        indexes = [models.Index(fields=["organization", "minute"], name="refusal_org_minute")]

    def __str__(self) -> str:
        return f"{self.minute} {self.limiter}: {self.count}"


class GatewayToken(SecretKey):
    """A credential for the operator's gateway to call the authorize and settle endpoints.
    Created by staff in the Django admin; the secret is shown once."""

    SECRET_PREFIX = "cgw-"

    public_id = public_id_field("gateway_token")
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: the token serves every organization. Set: only this one's API keys "
        "and reservations.",
    )

    class Meta:
        ordering = ["-created_at"]

    @property
    def audit_target(self) -> AuditTarget:
        return AuditTarget("gateway_token", self.public_id, None)


class UpstreamProtocol(models.TextChoices):
    MESSAGES_API = "messages_api", "Anthropic Messages API"
    DEMO = "demo", "Built-in demo (answers in process, no network)"


class UpstreamAuthHeader(models.TextChoices):
    X_API_KEY = "x-api-key", "x-api-key: <credential>"
    BEARER = "authorization", "Authorization: Bearer <credential>"


class InputBound(models.TextChoices):
    REQUEST_SIZE = "request_size", "From the request's size (no extra round trip)"
    COUNT_TOKENS = "count_tokens", "Ask the upstream's count_tokens before each request"


def validate_upstream_url(value: str) -> None:
    """An http(s) URL with a host; unlike URLField, a host without a dot (`http://vllm:8000`,
    as container networks name servers) is fine."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValidationError("Enter an http:// or https:// URL such as http://vllm:8000.")
    try:
        parts.port  # noqa: B018 (parsing it is the check)
    except ValueError:
        raise ValidationError("The port is not a number from 1 to 65535.") from None


class Upstream(models.Model):
    """A model server Console forwards Messages API requests to (any server that speaks the
    Messages API: the Anthropic API, vLLM, SGLang, llama.cpp's server, LiteLLM).

    The credential is kept encrypted (`billing.upstreams`); it is written, never read back.
    """

    name = models.SlugField(max_length=64, unique=True)
    protocol = models.CharField(
        max_length=20, choices=UpstreamProtocol.choices, default=UpstreamProtocol.MESSAGES_API
    )
    base_url = models.CharField(
        "base URL",
        max_length=500,
        blank=True,
        validators=[validate_upstream_url],
        help_text="Where /v1/messages is found, e.g. https://api.anthropic.com or http://vllm.internal:8000.",
    )
    credential_encrypted = models.TextField(blank=True, default="", editable=False)
    auth_header = models.CharField(
        max_length=20, choices=UpstreamAuthHeader.choices, default=UpstreamAuthHeader.X_API_KEY
    )
    input_bound = models.CharField(
        max_length=20, choices=InputBound.choices, default=InputBound.REQUEST_SIZE
    )
    connect_timeout_seconds = models.FloatField(default=5.0)
    read_timeout_seconds = models.FloatField(
        default=600.0,
        help_text="Longest wait for the answer to start, and between two streamed events.",
    )
    max_connections = models.PositiveIntegerField(
        default=100, help_text="Open connections to this upstream, per Console process."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(connect_timeout_seconds__gt=0) & Q(read_timeout_seconds__gt=0),
                name="upstream_timeouts_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_credential(self) -> bool:
        return bool(self.credential_encrypted)


class ModelRoute(models.Model):
    """Which upstream serves a catalog model, and under which name there. A catalog model
    without a route cannot be called (404, as for an unknown model)."""

    model = models.OneToOneField(Model, on_delete=models.CASCADE, related_name="route")
    upstream = models.ForeignKey(Upstream, on_delete=models.PROTECT, related_name="routes")
    upstream_model = models.CharField(
        max_length=200, help_text="The model's name on the upstream, e.g. Qwen/Qwen3-32B."
    )
    display_name = models.CharField(
        max_length=100, blank=True, help_text="Shown by GET /v1/models; the model's id if empty."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(
        default=timezone.now, help_text="Shown by GET /v1/models as the model's created_at."
    )

    class Meta:
        ordering = ["-created_at", "model__api_name"]

    def __str__(self) -> str:
        return f"{self.model_id} -> {self.upstream_id}:{self.upstream_model}"


class IncreaseRequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"


INCREASE_REQUEST_LIFETIME_DAYS = 30


class SpendLimitIncreaseRequestQuerySet(models.QuerySet["SpendLimitIncreaseRequest"]):
    def open(self) -> "SpendLimitIncreaseRequestQuerySet":
        """Requests an admin can still approve or deny."""
        return self.with_status([IncreaseRequestStatus.PENDING])

    def with_status(self, statuses: Iterable[str]) -> "SpendLimitIncreaseRequestQuerySet":
        """The requests whose `current_status` is one of `statuses`: one that lapsed
        unanswered is denied, though nothing rewrote it."""
        now = timezone.now()
        pending = Q(status=IncreaseRequestStatus.PENDING)
        by_status = {
            IncreaseRequestStatus.PENDING: pending & Q(expires_at__gt=now),
            IncreaseRequestStatus.APPROVED: Q(status=IncreaseRequestStatus.APPROVED),
            IncreaseRequestStatus.DENIED: Q(status=IncreaseRequestStatus.DENIED)
            | (pending & Q(expires_at__lte=now)),
        }
        wanted = Q(pk__in=[])
        for status in statuses:
            wanted |= by_status[IncreaseRequestStatus(status)]
        return self.filter(wanted)


class SpendLimitIncreaseRequest(models.Model):
    """A member's request for a higher monthly spend limit of a workspace, which an admin
    approves (setting the limit) or denies. Unanswered, it lapses at `expires_at`."""

    public_id = public_id_field("spend_limit_increase_request")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="spend_limit_increase_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount_cents = models.PositiveBigIntegerField(help_text="The monthly limit asked for.")
    message = models.TextField(blank=True, max_length=1000)
    status = models.CharField(
        max_length=20,
        choices=IncreaseRequestStatus.choices,
        default=IncreaseRequestStatus.PENDING,
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_amount_cents = models.PositiveBigIntegerField(null=True, blank=True)

    objects = SpendLimitIncreaseRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-public_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "requested_by"],
                condition=Q(status="pending"),
                name="one_pending_increase_request",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-public_id"], name="increase_request_org_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"

    def current_status(self, now=None) -> str:
        """Pending until answered; a request that lapsed unanswered reads as denied."""
        if self.status == IncreaseRequestStatus.PENDING and self.expires_at <= (
            now or timezone.now()
        ):
            return IncreaseRequestStatus.DENIED
        return self.status

    @property
    def has_lapsed(self) -> bool:
        return self.status == IncreaseRequestStatus.PENDING and self.expires_at <= timezone.now()

    @property
    def audit_target(self) -> AuditTarget:
        return AuditTarget("spend_limit_increase_request", self.public_id, self.organization_id)
