"""The engine's wire format: decisions, settlements and refusals shaped as the Anthropic API
answers its clients (so a gateway passes them on as they are), and the Messages API `usage`
object read strictly."""

import math
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from billing import pricing, usage
from billing.models import Limiter
from billing.money import cents_text
from console.validation import check_text

MAX_INPUT_TOKENS = 10_000_000
MAX_OUTPUT_TOKENS = 1_000_000
HEADER_NAMES: dict[str, str] = {
    Limiter.REQUESTS_PER_MINUTE: "requests",
    Limiter.INPUT_TOKENS_PER_MINUTE: "input-tokens",
    Limiter.OUTPUT_TOKENS_PER_MINUTE: "output-tokens",
}
LIMITER_WORDS: dict[str, str] = {
    Limiter.REQUESTS_PER_MINUTE: "requests per minute",
    Limiter.INPUT_TOKENS_PER_MINUTE: "input tokens per minute",
    Limiter.OUTPUT_TOKENS_PER_MINUTE: "output tokens per minute",
}
# The limiter names of spend refusals, in `Decision.limiter` and `error.details.limiter`.
SPEND_LIMITERS = {
    "workspace": "workspace_spend_limit",
    "organization": "organization_spend_limit",
    "tier_cap": "tier_spend_cap",
}


class EnforcementError(Exception):
    """An error to answer the caller with (not a refusal to pass on to a client): bad input
    (400), or `SettleUnconfirmed`."""

    def __init__(
        self, message: str, *, status: int = 400, error_type: str = "invalid_request_error"
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


class SettleUnconfirmed(EnforcementError):
    """A settle whose usage is stored (`settlement` says at what cost) but that cannot be told
    from a repeat of an earlier settle: with `USAGE_QUEUE`, that one's record may wait in the
    queue of a counter store that cannot be reached. Answered 529, to be retried: the retry
    answers `already_settled` with the recorded cost. A caller that settles only once (a
    gateway in this process) may take it as done."""

    def __init__(self, settlement: "Settlement") -> None:
        super().__init__(
            "The usage is recorded, but the counter store cannot be reached to tell whether "
            "an earlier settle of this reservation recorded it. Retry the settle.",
            status=529,
            error_type="overloaded_error",
        )
        self.settlement = settlement


def error_body(error_type: str, message: str, **details: Any) -> dict:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if details:
        error["details"] = details
    return {"type": "error", "error": error}


_rfc3339_cache: dict[int, str] = {}


def rfc3339(epoch: float) -> str:
    """A time as RFC 3339 in UTC, to the second (remembered: headers name the same few
    seconds over and over)."""
    second = math.floor(epoch)
    text = _rfc3339_cache.get(second)
    if text is None:
        if len(_rfc3339_cache) > 10_000:
            _rfc3339_cache.clear()
        text = _rfc3339_cache[second] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
    return text


@dataclass(slots=True)
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


@dataclass(frozen=True, slots=True)
class LimitPassed:
    """A spend limit that recorded spend has passed."""

    scope: str  # "workspace" or "organization"
    limiter: str  # a value of SPEND_LIMITERS
    limit_cents: int
    used_cents: Decimal

    def to_json(self) -> dict:
        return {
            "scope": self.scope,
            "limiter": self.limiter,
            "limit": str(self.limit_cents),
            "used": cents_text(self.used_cents),
            "unit": "cents",
        }


@dataclass(frozen=True, slots=True)
class Overage:
    """A settle that counted more than its reservation held, or that took spend past a spend
    limit: the whole cost is recorded and counted, and the spend limits passed refuse every
    request until they reset.

    `over_limit` is what this settle itself added above a limit (the most, of the limits it
    passed): a settle that was already over when it was made adds its whole excess, one that
    crossed a limit only the part beyond it, one that stayed within every limit nothing. A
    reservation no longer held (expired, or lost by the counter store) has no reservation to
    compare with: `reserved` and `over_reservation` are None, and its settle is an overage
    only when it passed a limit."""

    reserved_cents: Decimal | None
    over_cents: Decimal | None  # the cost beyond what was reserved
    over_limit_cents: Decimal
    limits_passed: tuple[LimitPassed, ...]
    resets_at: str  # RFC 3339: when the month's spend starts again from zero

    def to_json(self) -> dict:
        return {
            "reserved": None if self.reserved_cents is None else cents_text(self.reserved_cents),
            "over_reservation": None if self.over_cents is None else cents_text(self.over_cents),
            "over_limit": cents_text(self.over_limit_cents),
            "unit": "cents",
            "limits_passed": [limit.to_json() for limit in self.limits_passed],
            "resets_at": self.resets_at,
        }


@dataclass(frozen=True, slots=True)
class Settlement:
    reservation_id: str
    cost_cents: Decimal
    already_settled: bool = False
    overage: Overage | None = None

    def to_json(self) -> dict:
        return {
            "reservation_id": self.reservation_id,
            "cost": {"amount": cents_text(self.cost_cents), "currency": "USD", "unit": "cents"},
            "already_settled": self.already_settled,
            "overage": self.overage.to_json() if self.overage else None,
        }


def clean_count(value: Any, name: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EnforcementError(f"{name}: must be a whole number.")
    if value < minimum or value > maximum:
        raise EnforcementError(f"{name}: must be between {minimum:,} and {maximum:,}.")
    return value


def clean_model_name(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise EnforcementError("model: a model name is required.")
    try:
        return check_text(value)
    except ValidationError:
        raise EnforcementError(
            "model: the name contains characters that are not allowed."
        ) from None


@dataclass(frozen=True, slots=True)
class Usage:
    """A request's usage as the record stores it: tokens by kind, server tool requests, and
    how it was served (`billing.usage.served`)."""

    tokens: dict[str, int]
    served: dict[str, str]
    server_tools: dict[str, int]

    @property
    def service_tier(self) -> str:
        return self.served["service_tier"]

    def record_fields(self) -> dict[str, Any]:
        """The record's fields this usage gives (the cost apart)."""
        return {**self.tokens, **self.server_tools, **self.served}

    def counted_input(self, cache_reads_count: bool) -> int:
        """The input tokens the input-tokens-per-minute limit counts: uncached input and cache
        writes, and cache reads only for model groups where they count."""
        tokens = self.tokens
        return (
            tokens["uncached_input_tokens"]
            + tokens["cache_creation_5m_tokens"]
            + tokens["cache_creation_1h_tokens"]
            + (tokens["cache_read_tokens"] if cache_reads_count else 0)
        )


def _object(value: Any, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EnforcementError(f"{name}: must be an object.")
    return value


def _optional_string(value: Any, name: str) -> str | None:
    """A string or nothing. Its text is only compared with the values Console knows, never
    stored, so any string is taken: an upstream's own words lose no usage."""
    if value is not None and not isinstance(value, str):
        raise EnforcementError(f"{name}: must be a string.")
    return value


def usage_from_messages_api(body: Any) -> Usage:
    """A Messages API `usage` object, every field checked: token counts are whole numbers,
    `cache_creation` (the split into 5-minute and 1-hour cache writes) and `server_tool_use`
    objects, `service_tier`, `inference_geo` and `speed` strings. The record keeps the
    tokens, the web search and web fetch requests, and how the request was served: a value
    Console does not know, such as a service tier other than Anthropic's three (vLLM says
    "default"), is recorded as the default, never refused (`billing.usage.served`); and the
    context window its input is billed in."""
    if not isinstance(body, dict):
        raise EnforcementError("usage: must be an object.")

    def count(value: Any, name: str) -> int:
        if value is None:
            return 0
        return clean_count(value, f"usage.{name}", minimum=0, maximum=usage.MAX_TOKENS_PER_KIND)

    creation = _object(body.get("cache_creation"), "usage.cache_creation")
    five = count(
        creation.get("ephemeral_5m_input_tokens"), "cache_creation.ephemeral_5m_input_tokens"
    )
    hour = count(
        creation.get("ephemeral_1h_input_tokens"), "cache_creation.ephemeral_1h_input_tokens"
    )
    # The total without a split (or above it) is priced as 5-minute writes: none is lost.
    total = count(body.get("cache_creation_input_tokens"), "cache_creation_input_tokens")
    five += max(0, total - five - hour)
    tools = _object(body.get("server_tool_use"), "usage.server_tool_use")
    server_tools = {
        name: count(tools.get(name), f"server_tool_use.{name}")
        for name in pricing.SERVER_TOOL_KINDS
    }
    tokens = {
        "uncached_input_tokens": count(body.get("input_tokens"), "input_tokens"),
        "cache_creation_5m_tokens": five,
        "cache_creation_1h_tokens": hour,
        "cache_read_tokens": count(body.get("cache_read_input_tokens"), "cache_read_input_tokens"),
        "output_tokens": count(body.get("output_tokens"), "output_tokens"),
    }
    served = usage.served(
        tokens=tokens,
        service_tier=_optional_string(body.get("service_tier"), "usage.service_tier"),
        inference_geo=_optional_string(body.get("inference_geo"), "usage.inference_geo"),
        speed=_optional_string(body.get("speed"), "usage.speed"),
    )
    return Usage(tokens=tokens, served=served, server_tools=server_tools)
