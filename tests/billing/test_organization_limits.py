"""Settings > Limits: the organization's tier, cap and rate limits, the staff's overrides,
the page's queries."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing import selectors, services
from billing.models import Model, ModelGroup, TierLimit, UsageTier
from tests.helpers import ITPM, more_model_groups


def test_catalog_is_loaded(db):
    assert list(ModelGroup.objects.values_list("name", flat=True)) == [
        "Claude Opus 4.x",
        "Claude Sonnet 4.x",
        "Claude Haiku 4.5",
        "Claude Haiku 3.5",
        "Claude Haiku 3",
    ]
    opus = Model.objects.get(api_name="claude-opus-4-5")
    assert (opus.input_price, opus.output_price) == (Decimal("5"), Decimal("25"))
    assert (opus.cache_write_5m_price, opus.cache_write_1h_price, opus.cache_read_price) == (
        Decimal("6.25"),
        Decimal("10"),
        Decimal("0.5"),
    )
    tier1 = UsageTier.objects.get(name="Tier 1")
    assert tier1.monthly_spend_cap_cents == 100_00
    assert (
        TierLimit.objects.get(tier=tier1, model_group__slug="haiku-3", limiter=ITPM).value == 50_000
    )
    assert (
        TierLimit.objects.get(
            tier__name="Tier 4", model_group__slug="haiku-4-5", limiter=ITPM
        ).value
        == 4_000_000
    )
    assert UsageTier.objects.get(name="Custom").monthly_spend_cap_cents is None
    assert ModelGroup.objects.get(slug="haiku-3-5").cache_reads_count_as_input


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 200), ("billing", 200), ("developer", 200), ("user", 403)]
)
def test_organization_limits_page(client, personas, who, status):
    response = client(getattr(personas, who)).get(reverse("billing:organization_limits"))
    assert response.status_code == status
    if status == 200:
        assert b"Tier 1" in response.content


def test_custom_cap_from_staff(personas, admin_actor):
    services.organization_limits_change(
        actor=admin_actor, organization=personas.org, custom_spend_cap_cents=2_000_00
    )
    services.organization_spend_limit_set(
        actor=admin_actor, organization=personas.org, amount_cents=1_500_00
    )
    assert selectors.organization_settings(personas.org).effective_spend_limit_cents == 1_500_00


@pytest.mark.parametrize("groups", [0, 20])
def test_organization_limits_queries_do_not_grow(
    client, personas, django_assert_num_queries, groups
):
    more_model_groups(groups)
    c = client(personas.admin)
    c.get(reverse("billing:organization_limits"))
    with django_assert_num_queries(13):  # the 13th counts the open increase requests
        c.get(reverse("billing:organization_limits"))
