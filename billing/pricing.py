"""Prices, written once: what each kind of token, each web search and each service tier
costs, the context window a request is billed in, and the worst case a reservation holds.
Every path that prices usage reads this module: recording a request (`billing.usage`), the
settle, the reservation's estimate (`billing.enforcement.policy`) and the reports.

Prices are on each catalog `Model`: USD per million tokens for each token kind, and USD per
1,000 web searches. Costs are exact Decimal cents.

Service tiers, as Anthropic prices them:
- `batch` pays half the list price of every token kind (cache writes and reads included: the
  batch and caching discounts stack). Web searches cost the same in every tier.
- `priority` is sold by Anthropic as committed capacity, outside per-token prices. Console has
  no commitments, so priority usage is priced at the list prices, like `standard`.
- Any tier an upstream reports that is not one of Anthropic's three is recorded as `standard`.

The context window (`0-200k` or `200k-1M`), the inference geo and the speed are recorded and
reported but change no price: the catalog has one price per token kind.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from billing.models import COST, ContextWindow, Model, ServiceTier

# Each token kind of a usage record and the price of the model that applies to it.
PRICE_OF = {
    "uncached_input_tokens": "input_price",
    "cache_creation_5m_tokens": "cache_write_5m_price",
    "cache_creation_1h_tokens": "cache_write_1h_price",
    "cache_read_tokens": "cache_read_price",
    "output_tokens": "output_price",
}
TOKEN_KINDS = tuple(PRICE_OF)
INPUT_KINDS = TOKEN_KINDS[:4]  # every kind of input: uncached, cache writes, cache reads
# Server tool requests a record counts (the Messages API's `usage.server_tool_use`). Web
# search has a price of its own; a web fetch costs only the tokens it brings in.
SERVER_TOOL_KINDS = ("web_search_requests", "web_fetch_requests")
PRICED_SEARCHES = 1_000  # web search prices are per this many searches

# The part of the list price each service tier pays (see above); others pay all of it.
TIER_PRICE_FACTOR: dict[str, Decimal] = {ServiceTier.BATCH: Decimal("0.5")}

# Anthropic bills a request whose whole input is above this many tokens in the long context
# window ("200k-1M").
STANDARD_CONTEXT_TOKENS = 200_000

# USD per million tokens, as cents per token: times 100, divided by a million.
_CENTS_PER_TOKEN = Decimal(100) / Decimal(1_000_000)
# USD per 1,000 searches, as cents per search.
_CENTS_PER_SEARCH = Decimal(100) / Decimal(PRICED_SEARCHES)
# What a stored cost can hold: a cost finer than that is rounded up, never under-counted.
_COST_STEP = Decimal(1).scaleb(-COST["decimal_places"])


def context_window(tokens: Mapping[str, int]) -> str:
    """The context window a request is billed in, from its whole input: uncached input,
    cache writes and cache reads."""
    total = sum(tokens.get(kind, 0) for kind in INPUT_KINDS)
    return ContextWindow.LONG if total > STANDARD_CONTEXT_TOKENS else ContextWindow.STANDARD


def price(model: Model, kind: str, service_tier: str = ServiceTier.STANDARD) -> Decimal:
    """The model's price of `kind` in USD per million tokens, in `service_tier`."""
    list_price: Decimal = getattr(model, PRICE_OF[kind])
    factor = TIER_PRICE_FACTOR.get(service_tier)
    return list_price if factor is None else list_price * factor


def tokens_cost_cents(
    model: Model, kind: str, tokens: int, service_tier: str = ServiceTier.STANDARD
) -> Decimal:
    """What `tokens` of `kind` cost on `model` in `service_tier`, in cents."""
    return Decimal(tokens) * price(model, kind, service_tier) * _CENTS_PER_TOKEN


def web_search_cost_cents(model: Model, searches: int) -> Decimal:
    """What `searches` web searches cost with `model`, in cents (the same in every tier)."""
    return Decimal(searches) * model.web_search_price * _CENTS_PER_SEARCH


def cost_cents(
    model: Model,
    tokens: Mapping[str, int],
    *,
    service_tier: str = ServiceTier.STANDARD,
    web_search_requests: int = 0,
) -> Decimal:
    """What a request costs on `model`, in cents: its tokens (by kind) at the prices of its
    service tier, and its web searches. Exact; rounded up only where a cost is finer than
    the hundred-millionth of a cent a record stores."""
    total = sum(
        (tokens_cost_cents(model, kind, tokens.get(kind, 0), service_tier) for kind in TOKEN_KINDS),
        Decimal(0),
    ) + web_search_cost_cents(model, web_search_requests)
    return (
        total
        if total == total.quantize(_COST_STEP)
        else total.quantize(_COST_STEP, rounding=ROUND_CEILING)
    )


@dataclass(frozen=True, slots=True)
class ReservationPrices:
    """A model's prices as a reservation uses them: USD per million tokens times 10,000, whole
    numbers (prices have four decimals), so the worst case is integer arithmetic."""

    dearest_input: int  # the dearest input-side price: every input token may be charged it
    output: int

    def worst_case_micro_cents(self, input_tokens: int, max_tokens: int) -> int:
        """The most a request can cost in tokens, in micro-cents, rounded up: every input
        token at the dearest input-side price and `max_tokens` of output, at list prices
        (no tier pays more). A token at P dollars per million costs P * 100 micro-cents.
        Web searches are not known before the answer: a settle counts them in full."""
        scaled = input_tokens * self.dearest_input + max_tokens * self.output
        return -(-scaled // 100)


def reservation_prices(model: Model) -> ReservationPrices:
    dearest = max(getattr(model, PRICE_OF[kind]) for kind in INPUT_KINDS)
    return ReservationPrices(
        dearest_input=int(dearest * 10_000), output=int(model.output_price * 10_000)
    )
