"""Setting and deleting spend limits as the Spend Limits API names them, by scope and period:
the organization's and a workspace's monthly limits; the usage tier's cap is staff's."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from billing import selectors, services
from billing.models import OrganizationLimits, WorkspaceSpendLimit
from tests.factories import OrganizationFactory, WorkspaceFactory


def _codes(refused: pytest.ExceptionInfo[ValidationError]) -> set[str | None]:
    error = refused.value
    if hasattr(error, "error_dict"):
        return {item.code for items in error.error_dict.values() for item in items}
    return {item.code for item in error.error_list}


def test_sets_the_organizations_and_a_workspaces_limit(personas, production, admin_actor):
    services.spend_limit_set(
        actor=admin_actor, organization=personas.org, scope_type="organization", amount_cents=9_000
    )
    services.spend_limit_set(
        actor=admin_actor,
        organization=personas.org,
        scope_type="workspace",
        workspace=production,
        amount_cents=4_000,
    )
    assert OrganizationLimits.objects.get(organization=personas.org).spend_limit_cents == 9_000
    assert WorkspaceSpendLimit.objects.get(workspace=production).amount_cents == 4_000
    services.spend_limit_delete(
        actor=admin_actor, organization=personas.org, scope_type="workspace", workspace=production
    )
    assert not WorkspaceSpendLimit.objects.filter(workspace=production).exists()
    services.spend_limit_delete(
        actor=admin_actor, organization=personas.org, scope_type="organization"
    )
    assert OrganizationLimits.objects.get(organization=personas.org).spend_limit_cents is None


def test_the_usage_tiers_cap_is_neither_changed_nor_deleted(personas, admin_actor):
    cap = selectors.spend_limits(personas.org)[-1]
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="set by staff") as changed:
        services.spend_limit_set(
            actor=admin_actor, organization=personas.org, scope_type="usage_tier", amount_cents=1
        )
    assert _codes(changed) == {"read_only_spend_limit"}
    with pytest.raises(ValidationError, match="set by staff"):
        services.spend_limit_delete(
            actor=admin_actor, organization=personas.org, scope_type="usage_tier"
        )
    assert selectors.spend_limits(personas.org)[-1] == cap
    assert AuditEvent.objects.count() == events


def test_a_limit_always_carries_an_amount(personas, admin_actor):
    with pytest.raises(ValidationError, match="delete the limit"):
        services.spend_limit_set(
            actor=admin_actor,
            organization=personas.org,
            scope_type="organization",
            amount_cents=None,
        )


@pytest.mark.parametrize("scope_type", ["user", "rbac_group", "seat_tier", "organization_service"])
def test_scopes_console_has_not_are_refused(personas, admin_actor, scope_type):
    with pytest.raises(ValidationError) as refused:
        services.spend_limit_set(
            actor=admin_actor, organization=personas.org, scope_type=scope_type, amount_cents=100
        )
    assert _codes(refused) == {"unsupported_scope"}


@pytest.mark.parametrize("period", ["daily", "weekly"])
def test_limits_are_monthly(personas, admin_actor, period):
    with pytest.raises(ValidationError) as refused:
        services.spend_limit_set(
            actor=admin_actor,
            organization=personas.org,
            scope_type="organization",
            amount_cents=100,
            period=period,
        )
    assert _codes(refused) == {"unsupported_period"}
    assert not OrganizationLimits.objects.filter(
        organization=personas.org, spend_limit_cents__isnull=False
    ).exists()


def test_a_workspace_of_another_organization_is_refused(personas, admin_actor):
    theirs = WorkspaceFactory(organization=OrganizationFactory())
    with pytest.raises(ValidationError, match="workspace of this organization"):
        services.spend_limit_set(
            actor=admin_actor,
            organization=personas.org,
            scope_type="workspace",
            workspace=theirs,
            amount_cents=100,
        )
    assert not WorkspaceSpendLimit.objects.exists()
