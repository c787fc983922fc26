"""The initial catalog: model groups, models and their prices, usage tiers and their default
organization limits (public figures). A data migration loads it; staff edit it afterwards."""

from decimal import Decimal

from django.apps import apps as django_apps

# group: (position, cache reads count toward input tokens per minute, models)
# model: (api name, input $/MTok, output $/MTok)
GROUPS = {
    "Claude Opus 4.x": (
        1,
        False,
        [
            ("claude-opus-4-5", "5.00", "25.00"),
            ("claude-opus-4-1", "15.00", "75.00"),
            ("claude-opus-4-0", "15.00", "75.00"),
        ],
    ),
    "Claude Sonnet 4.x": (
        2,
        False,
        [("claude-sonnet-4-5", "3.00", "15.00"), ("claude-sonnet-4-0", "3.00", "15.00")],
    ),
    "Claude Haiku 4.5": (3, False, [("claude-haiku-4-5", "1.00", "5.00")]),
    "Claude Haiku 3.5": (4, True, [("claude-3-5-haiku-latest", "0.80", "4.00")]),
    "Claude Haiku 3": (5, True, [("claude-3-haiku-20240307", "0.25", "1.25")]),
}

# Every model of the catalog has Anthropic's web search tool: USD per 1,000 searches.
WEB_SEARCH_PRICE = Decimal("10.00")

# tier: (position, monthly cap in cents, {group: (rpm, itpm, otpm)}); "Haiku 3.5 and 3" share.
_T: dict[str, tuple[int, int | None, list[tuple[int, int, int]]]] = {
    "Tier 1": (
        1,
        100_00,
        [(50, 30_000, 8_000), (50, 30_000, 8_000), (50, 50_000, 10_000), (50, 50_000, 10_000)],
    ),
    "Tier 2": (
        2,
        500_00,
        [
            (1_000, 450_000, 90_000),
            (1_000, 450_000, 90_000),
            (1_000, 450_000, 90_000),
            (1_000, 100_000, 20_000),
        ],
    ),
    "Tier 3": (
        3,
        1_000_00,
        [
            (2_000, 800_000, 160_000),
            (2_000, 800_000, 160_000),
            (2_000, 1_000_000, 200_000),
            (2_000, 200_000, 40_000),
        ],
    ),
    "Tier 4": (
        4,
        5_000_00,
        [
            (4_000, 2_000_000, 400_000),
            (4_000, 2_000_000, 400_000),
            (4_000, 4_000_000, 800_000),
            (4_000, 400_000, 80_000),
        ],
    ),
}
# Custom starts from Tier 4's limits and has no cap; staff set overrides per organization.
_T["Custom"] = (5, None, _T["Tier 4"][2])
COLUMNS = [
    "Claude Opus 4.x",
    "Claude Sonnet 4.x",
    "Claude Haiku 4.5",
    ("Claude Haiku 3.5", "Claude Haiku 3"),
]
LIMITERS = ["requests_per_minute", "input_tokens_per_minute", "output_tokens_per_minute"]


def load_catalog(apps=django_apps) -> None:
    """Create the catalog (with `apps` as a migration gives them, or the current models)."""
    ModelGroup = apps.get_model("billing", "ModelGroup")
    Model = apps.get_model("billing", "Model")
    UsageTier = apps.get_model("billing", "UsageTier")
    TierLimit = apps.get_model("billing", "TierLimit")
    groups = {}
    for name, (position, cache_reads, models) in GROUPS.items():
        slug = (
            name.lower()
            .removeprefix("claude ")
            .replace(" ", "-")
            .replace(".x", "")
            .replace(".", "-")
        )
        group = ModelGroup.objects.create(
            name=name, slug=slug, position=position, cache_reads_count_as_input=cache_reads
        )
        groups[name] = group
        for api_name, input_price, output_price in models:
            price = Decimal(input_price)
            Model.objects.create(
                api_name=api_name,
                group=group,
                input_price=price,
                output_price=Decimal(output_price),
                cache_write_5m_price=price * Decimal("1.25"),
                cache_write_1h_price=price * 2,
                cache_read_price=price * Decimal("0.1"),
            )
    if any(field.name == "web_search_price" for field in Model._meta.get_fields()):
        set_web_search_prices(apps)
    for tier_name, (position, cap, columns) in _T.items():
        tier = UsageTier.objects.create(
            name=tier_name, position=position, monthly_spend_cap_cents=cap
        )
        for column, values in zip(COLUMNS, columns, strict=True):
            for group_name in column if isinstance(column, tuple) else (column,):
                for limiter, value in zip(LIMITERS, values, strict=True):
                    TierLimit.objects.create(
                        tier=tier, model_group=groups[group_name], limiter=limiter, value=value
                    )


def set_web_search_prices(apps=django_apps) -> None:
    """Price web search for the catalog's models, as Anthropic does (a data migration added
    the price after the catalog was first loaded)."""
    Model = apps.get_model("billing", "Model")
    names = [api_name for _p, _c, models in GROUPS.values() for api_name, _i, _o in models]
    Model.objects.filter(api_name__in=names).update(web_search_price=WEB_SEARCH_PRICE)
