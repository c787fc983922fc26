"""Rate limits, spend limits and the effective limits of a workspace."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.audit import Actor
from accounts.models import AuditEvent
from billing import selectors, services, usage
from billing.models import Limiter, Model, ModelGroup, TierLimit, UsageTier, WorkspaceRateLimit
from tests.factories import WorkspaceFactory

RPM = Limiter.REQUESTS_PER_MINUTE
ITPM = Limiter.INPUT_TOKENS_PER_MINUTE


@pytest.fixture
def sonnet(db):
    return ModelGroup.objects.get(slug="sonnet-4")


@pytest.fixture
def workspace(personas):
    return WorkspaceFactory(organization=personas.org, name="Production")


@pytest.fixture
def actor(personas):
    return Actor.for_user(personas.admin)


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


def test_effective_limits_from_tier(personas, workspace, sonnet):
    row = selectors.effective_limits(workspace).rate_limit(sonnet.pk, RPM)
    assert (row.value, row.source, row.workspace_value) == (50, selectors.SOURCE_TIER, None)


def test_effective_limits_from_staff_override(personas, workspace, sonnet, actor):
    services.organization_limits_change(
        actor=actor, organization=personas.org, overrides=[(sonnet, RPM, 75)]
    )
    row = selectors.effective_limits(workspace).rate_limit(sonnet.pk, RPM)
    assert (row.value, row.source) == (75, selectors.SOURCE_OVERRIDE)


def test_effective_limits_from_workspace(personas, workspace, sonnet, actor):
    services.workspace_rate_limit_set(
        actor=actor, workspace=workspace, model_group=sonnet, limiter=RPM, value=20
    )
    row = selectors.effective_limits(workspace).rate_limit(sonnet.pk, RPM)
    assert (row.value, row.source, row.organization_value) == (20, selectors.SOURCE_WORKSPACE, 50)
    event = AuditEvent.objects.get(action="workspace_rate_limit.set")
    assert event.after == {"model_group": "sonnet-4", "limiter": RPM, "value": 20}


def test_workspace_limit_above_organization_is_refused(personas, workspace, sonnet, actor):
    with pytest.raises(ValidationError, match="at most the organization's"):
        services.workspace_rate_limit_set(
            actor=actor, workspace=workspace, model_group=sonnet, limiter=RPM, value=51
        )
    services.workspace_rate_limit_set(
        actor=actor, workspace=workspace, model_group=sonnet, limiter=RPM, value=50
    )
    assert WorkspaceRateLimit.objects.get().value == 50


@pytest.mark.parametrize("value", [0, -5, 10**30, "12", 1.5, True, None])
def test_bad_rate_limit_values(personas, workspace, sonnet, actor, value):
    with pytest.raises(ValidationError):
        services.workspace_rate_limit_set(
            actor=actor, workspace=workspace, model_group=sonnet, limiter=RPM, value=value
        )
    assert not WorkspaceRateLimit.objects.exists()
    assert not AuditEvent.objects.exists()


def test_unknown_limiter_is_refused(personas, workspace, sonnet, actor):
    with pytest.raises(ValidationError, match="Unknown limit type"):
        services.workspace_rate_limit_set(
            actor=actor, workspace=workspace, model_group=sonnet, limiter="tokens_per_day", value=5
        )


def test_reset_returns_to_the_organization(personas, workspace, sonnet, actor):
    services.workspace_rate_limit_set(
        actor=actor, workspace=workspace, model_group=sonnet, limiter=RPM, value=20
    )
    services.workspace_rate_limit_reset(
        actor=actor, workspace=workspace, model_group=sonnet, limiter=RPM
    )
    row = selectors.effective_limits(workspace).rate_limit(sonnet.pk, RPM)
    assert (row.value, row.workspace_value) == (50, None)
    assert AuditEvent.objects.filter(action="workspace_rate_limit.reset").count() == 1


def test_default_workspace_has_no_limits_of_its_own(personas, sonnet, actor):
    default = personas.default_workspace
    with pytest.raises(ValidationError, match="Default workspace has no limits"):
        services.workspace_rate_limit_set(
            actor=actor, workspace=default, model_group=sonnet, limiter=RPM, value=5
        )
    with pytest.raises(ValidationError, match="Default workspace has no limits"):
        services.workspace_spend_limit_set(actor=actor, workspace=default, amount_cents=100)
    with pytest.raises(ValidationError, match="Default workspace has no limits"):
        services.spend_notification_add(
            actor=actor, organization=personas.org, workspace=default, amount_cents=100
        )


def test_archived_workspace_limits_cannot_change(personas, workspace, sonnet, actor):
    from workspaces.services import workspace_archive

    workspace_archive(actor=actor, workspace=workspace)
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_rate_limit_set(
            actor=actor, workspace=workspace, model_group=sonnet, limiter=RPM, value=5
        )
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_spend_limit_set(actor=actor, workspace=workspace, amount_cents=100)


def test_lowering_the_organization_below_a_workspace(personas, workspace, sonnet, actor):
    services.organization_limits_change(
        actor=actor, organization=personas.org, tier=UsageTier.objects.get(name="Tier 2")
    )
    services.workspace_rate_limit_set(
        actor=actor, workspace=workspace, model_group=sonnet, limiter=RPM, value=500
    )
    services.organization_limits_change(
        actor=actor, organization=personas.org, tier=UsageTier.objects.get(name="Tier 1")
    )
    row = selectors.effective_limits(workspace).rate_limit(sonnet.pk, RPM)
    assert row.above_organization and row.value == 50 and row.source == selectors.SOURCE_TIER


def test_spend_limits(personas, workspace, actor):
    settings = selectors.organization_settings(personas.org)
    assert (settings.tier.name, settings.spend_cap_cents, settings.effective_spend_limit_cents) == (
        "Tier 1",
        100_00,
        100_00,
    )
    with pytest.raises(ValidationError, match="at most your usage tier's monthly cap"):
        services.organization_spend_limit_set(
            actor=actor, organization=personas.org, amount_cents=100_01
        )
    services.organization_spend_limit_set(
        actor=actor, organization=personas.org, amount_cents=80_00
    )
    with pytest.raises(ValidationError, match="lower than the organization's"):
        services.workspace_spend_limit_set(actor=actor, workspace=workspace, amount_cents=80_00)
    services.workspace_spend_limit_set(actor=actor, workspace=workspace, amount_cents=79_99)
    limits = selectors.effective_limits(workspace)
    assert limits.spend_limit_cents == 79_99
    services.workspace_spend_limit_set(actor=actor, workspace=workspace, amount_cents=None)
    limits = selectors.effective_limits(workspace)
    assert limits.spend_limit_cents == 80_00
    assert AuditEvent.objects.filter(action="organization_spend_limit.set").count() == 1
    assert AuditEvent.objects.filter(action="workspace_spend_limit.set").count() == 2


def test_organization_spend_limit_lowered_below_workspace(personas, workspace, actor):
    services.organization_spend_limit_set(
        actor=actor, organization=personas.org, amount_cents=90_00
    )
    services.workspace_spend_limit_set(actor=actor, workspace=workspace, amount_cents=60_00)
    services.organization_spend_limit_set(
        actor=actor, organization=personas.org, amount_cents=50_00
    )
    limits = selectors.effective_limits(workspace)
    assert limits.spend_limit_cents == 50_00 and limits.spend_above_organization


def test_custom_cap_from_staff(personas, actor):
    services.organization_limits_change(
        actor=actor, organization=personas.org, custom_spend_cap_cents=2_000_00
    )
    services.organization_spend_limit_set(
        actor=actor, organization=personas.org, amount_cents=1_500_00
    )
    assert selectors.organization_settings(personas.org).effective_spend_limit_cents == 1_500_00


@pytest.mark.parametrize("amount", [0, -1, 10**30])
def test_bad_spend_amounts(personas, workspace, actor, amount):
    with pytest.raises(ValidationError):
        services.workspace_spend_limit_set(actor=actor, workspace=workspace, amount_cents=amount)
    with pytest.raises(ValidationError):
        services.organization_spend_limit_set(
            actor=actor, organization=personas.org, amount_cents=amount
        )
    assert not AuditEvent.objects.exists()


def test_usage_cost_and_month_to_date_spend(personas, workspace, actor):
    from workspaces.services import api_key_create

    key, _ = api_key_create(actor=actor, workspace=workspace, name="k")
    sonnet = Model.objects.get(api_name="claude-sonnet-4-5")
    tokens = {
        "uncached_input_tokens": 1_000_000,
        "cache_creation_5m_tokens": 1_000_000,
        "cache_creation_1h_tokens": 1_000_000,
        "cache_read_tokens": 1_000_000,
        "output_tokens": 1_000_000,
    }
    # $3 + $3.75 + $6 + $0.30 + $15 = $28.05
    assert usage.cost_cents(sonnet, tokens) == Decimal("2805")
    usage.record(
        api_key=key, model=sonnet, tokens=tokens, at=datetime(2026, 10, 31, 23, 59, tzinfo=UTC)
    )
    usage.record(
        api_key=key,
        model=sonnet,
        tokens={"output_tokens": 1000},
        at=datetime(2026, 11, 1, 0, 0, tzinfo=UTC),
    )
    usage.record(
        api_key=key,
        model=sonnet,
        tokens={"output_tokens": 1000},
        at=datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
    )
    now = datetime(2026, 11, 15, tzinfo=UTC)
    assert selectors.month_to_date_spend(personas.org, workspace, now=now) == Decimal("3")
    assert selectors.month_to_date_spend(
        personas.org, now=datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
    ) == Decimal("2805")
    with pytest.raises(ValidationError):
        usage.record(api_key=key, model=sonnet, tokens={"output_tokens": -1})
    with pytest.raises(ValidationError):
        usage.record(api_key=key, model=sonnet, tokens={"bogus_tokens": 1})
