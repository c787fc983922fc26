"""The one pricing module: token kinds, prices, web search, service tiers, the context
window, the reservation's worst case; and every path that prices usage reads it."""

from decimal import Decimal

import pytest

from billing import enforcement, pricing, usage
from billing.enforcement import policy
from billing.models import Model, UsageRecord

TOKENS = {
    "uncached_input_tokens": 1_234,
    "cache_creation_5m_tokens": 56,
    "cache_creation_1h_tokens": 7,
    "cache_read_tokens": 8_901,
    "output_tokens": 234,
}


@pytest.fixture
def sonnet_model(db) -> Model:
    return Model.objects.get(api_name="claude-sonnet-4-5")


def test_list_prices_of_every_token_kind(sonnet_model):
    million = dict.fromkeys(pricing.TOKEN_KINDS, 1_000_000)
    # $3 input, $3.75 5-minute writes, $6 1-hour writes, $0.30 reads, $15 output.
    assert pricing.cost_cents(sonnet_model, million) == Decimal("2805")
    assert [pricing.price(sonnet_model, kind) for kind in pricing.TOKEN_KINDS] == [
        Decimal("3"),
        Decimal("3.75"),
        Decimal("6"),
        Decimal("0.3"),
        Decimal("15"),
    ]


def test_batch_pays_half_of_every_kind_and_priority_the_list_price(sonnet_model):
    standard = pricing.cost_cents(sonnet_model, TOKENS)
    assert pricing.cost_cents(sonnet_model, TOKENS, service_tier="batch") == standard / 2
    assert pricing.cost_cents(sonnet_model, TOKENS, service_tier="priority") == standard
    for kind in pricing.TOKEN_KINDS:
        assert pricing.price(sonnet_model, kind, "batch") * 2 == pricing.price(sonnet_model, kind)


def test_web_search_is_ten_dollars_a_thousand_in_every_tier(sonnet_model):
    assert sonnet_model.web_search_price == Decimal("10")
    assert pricing.web_search_cost_cents(sonnet_model, 1_000) == Decimal("1000")
    for tier in ("standard", "batch", "priority"):
        with_searches = pricing.cost_cents(
            sonnet_model, TOKENS, service_tier=tier, web_search_requests=7
        )
        assert with_searches - pricing.cost_cents(sonnet_model, TOKENS, service_tier=tier) == 7


def test_every_catalog_model_prices_web_search(db):
    assert set(Model.objects.values_list("web_search_price", flat=True)) == {Decimal("10")}


def test_a_cost_finer_than_a_record_holds_is_rounded_up(sonnet_model):
    sonnet_model.input_price = Decimal("0.0001")
    # One token at $0.0001 per million, batch: 0.000000005 cents, beyond the 8 places stored.
    assert pricing.cost_cents(
        sonnet_model, {"uncached_input_tokens": 1}, service_tier="batch"
    ) == Decimal("0.00000001")
    assert pricing.cost_cents(sonnet_model, {"uncached_input_tokens": 3}) == Decimal("0.00000003")


@pytest.mark.parametrize(
    ("tokens", "window"),
    [
        ({"uncached_input_tokens": 200_000}, "0-200k"),
        ({"uncached_input_tokens": 200_001}, "200k-1M"),
        ({"cache_read_tokens": 150_000, "cache_creation_1h_tokens": 50_001}, "200k-1M"),
        ({"cache_creation_5m_tokens": 200_001}, "200k-1M"),
        ({"output_tokens": 900_000}, "0-200k"),
    ],
)
def test_context_window_of_the_whole_input(tokens, window):
    assert pricing.context_window(tokens) == window


def test_the_reservation_holds_the_worst_case_at_list_prices(sonnet_model, settings):
    settings.LIMITER_CACHE_SECONDS = 0
    info = policy.model_by_name("claude-sonnet-4-5")
    # Every input token at the 1-hour cache write ($6), the output at $15: micro-cents.
    assert info.worst_case_micro(1_000, 100) == 1_000 * 600 + 100 * 1_500
    cheap = Model.objects.get(api_name="claude-3-haiku-20240307")  # $0.30 per million writes
    cheap.cache_write_1h_price = Decimal("0.0001")
    cheap.input_price = cheap.cache_write_5m_price = Decimal("0.0001")
    cheap.cache_read_price = Decimal("0.0001")
    assert pricing.reservation_prices(cheap).worst_case_micro_cents(1, 0) == 1  # rounded up


def test_record_settle_and_reports_price_alike(world, settings, sonnet_model):
    """The settle and a direct record price a request the same, through the one module."""
    from billing import limiter
    from tests.billing.conftest import T0, auth

    settings.LIMITER_CACHE_SECONDS = 60
    enforcement.use_backend(limiter.LocalBackend())
    try:
        body = {
            "input_tokens": TOKENS["uncached_input_tokens"],
            "cache_creation": {
                "ephemeral_5m_input_tokens": TOKENS["cache_creation_5m_tokens"],
                "ephemeral_1h_input_tokens": TOKENS["cache_creation_1h_tokens"],
            },
            "cache_read_input_tokens": TOKENS["cache_read_tokens"],
            "output_tokens": TOKENS["output_tokens"],
            "server_tool_use": {"web_search_requests": 2},
            "service_tier": "batch",
        }
        decision = auth(world, now=T0)
        settled = enforcement.settle(decision.reservation_id, body, now=T0)
    finally:
        enforcement.use_backend(None)
    direct = usage.record(
        api_key=world["key"],
        model=sonnet_model,
        tokens=TOKENS,
        service_tier="batch",
        web_search_requests=2,
    )
    expected = pricing.cost_cents(sonnet_model, TOKENS, service_tier="batch", web_search_requests=2)
    assert settled.cost_cents == direct.cost_cents == expected
    assert set(UsageRecord.objects.values_list("cost_cents", flat=True)) == {expected}


def test_usage_keeps_no_price_table_of_its_own():
    assert not hasattr(usage, "cost_cents") and not hasattr(usage, "TOKEN_KINDS")
    assert usage.TOKEN_FIELDS is pricing.TOKEN_KINDS
