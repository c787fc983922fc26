"""Prices: what each kind of token costs, written once. Prices are USD per million tokens
on each `Model`; costs are exact Decimal cents."""

from decimal import Decimal

from billing.models import Model

# Each token kind of a usage record and the price of the model that applies to it.
PRICE_OF = {
    "uncached_input_tokens": "input_price",
    "cache_creation_5m_tokens": "cache_write_5m_price",
    "cache_creation_1h_tokens": "cache_write_1h_price",
    "cache_read_tokens": "cache_read_price",
    "output_tokens": "output_price",
}
TOKEN_KINDS = tuple(PRICE_OF)

# USD per million tokens, as cents per token: times 100, divided by a million.
_CENTS_PER_TOKEN = Decimal(100) / Decimal(1_000_000)


def price(model: Model, kind: str) -> Decimal:
    """The model's price of `kind` in USD per million tokens."""
    return getattr(model, PRICE_OF[kind])


def tokens_cost_cents(model: Model, kind: str, tokens: int) -> Decimal:
    """What `tokens` of `kind` cost on `model`, in cents."""
    return Decimal(tokens) * price(model, kind) * _CENTS_PER_TOKEN


def cost_cents(model: Model, tokens: dict[str, int]) -> Decimal:
    """What a request's tokens (by kind) cost on `model`, in cents."""
    return sum(
        (tokens_cost_cents(model, kind, tokens.get(kind, 0)) for kind in TOKEN_KINDS), Decimal(0)
    )
