"""A workspace's Limits tab: who sees it and who edits, the limits in force and where each
comes from, read-only for the Default and archived workspaces, its queries."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.audit import Actor
from accounts.models import AuditEvent
from accounts.roles import WorkspaceRole
from billing import pricing, selectors, services, usage
from billing.models import (
    Model,
    SpendNotification,
    UsageTier,
    WorkspaceRateLimit,
    WorkspaceSpendLimit,
)
from tests.factories import MemberFactory, WorkspaceMemberFactory
from tests.helpers import RPM, more_model_groups, workspace_url
from workspaces.services import api_key_create


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("billing", 200), ("developer", 200), ("user", 403), ("outsider", 404)],
)
def test_limits_tab_visibility(client, personas, production, who, status):
    assert (
        client(getattr(personas, who))
        .get(workspace_url("billing:workspace_limits", production))
        .status_code
        == status
    )


def test_pencils_only_for_editors(client, personas, production):
    assert (
        b'aria-label="Edit Claude Sonnet 4.x'
        in client(personas.admin).get(workspace_url("billing:workspace_limits", production)).content
    )
    for who in (personas.billing, personas.developer):
        page = client(who).get(workspace_url("billing:workspace_limits", production)).content
        assert (
            b'aria-label="Edit' not in page
            and b"Change Limit" not in page
            and b"Add notification" not in page
        )


EDITS = [
    (
        "billing:workspace_rate_limit_set",
        {"model_group": "sonnet-4", "limiter": RPM, "value": "10"},
    ),
    ("billing:workspace_rate_limit_reset", {"model_group": "sonnet-4", "limiter": RPM}),
    ("billing:workspace_spend_limit_set", {"amount": "50"}),
    ("billing:workspace_spend_notification_add", {"amount": "25"}),
]


@pytest.mark.parametrize(("name", "data"), EDITS)
@pytest.mark.parametrize(
    ("who", "status"), [("billing", 403), ("developer", 403), ("user", 403), ("outsider", 404)]
)
def test_edits_refused_below_workspace_admin(
    client, personas, production, tier_2, name, data, who, status
):
    assert (
        client(getattr(personas, who)).post(workspace_url(name, production), data).status_code
        == status
    )
    assert not WorkspaceRateLimit.objects.exists() and not WorkspaceSpendLimit.objects.exists()
    assert not SpendNotification.objects.filter(workspace=production).exists()


def test_workspace_admin_can_edit(client, personas, production, tier_2, htmx):
    WorkspaceMemberFactory(
        workspace=production,
        user=MemberFactory(organization=personas.org).user,
        role=WorkspaceRole.ADMIN,
    )
    ws_admin = production.members.get(role=WorkspaceRole.ADMIN).user
    c = client(ws_admin)
    response = c.post(
        workspace_url("billing:workspace_rate_limit_set", production),
        {"model_group": "sonnet-4", "limiter": RPM, "value": "10"},
        **htmx,
    )
    assert response.status_code == 200 and b"<tr" in response.content and b"10" in response.content
    assert (
        c.post(
            workspace_url("billing:workspace_spend_limit_set", production), {"amount": "50"}, **htmx
        ).status_code
        == 204
    )
    assert (
        c.post(
            workspace_url("billing:workspace_spend_notification_add", production),
            {"amount": "25"},
            **htmx,
        ).status_code
        == 204
    )
    assert WorkspaceSpendLimit.objects.get().amount_cents == 50_00
    assert (
        c.post(
            workspace_url("billing:workspace_spend_notification_remove", production, 25_00), **htmx
        ).status_code
        == 204
    )
    assert not SpendNotification.objects.exists()
    response = c.post(
        workspace_url("billing:workspace_rate_limit_reset", production),
        {"model_group": "sonnet-4", "limiter": RPM},
        **htmx,
    )
    assert response.status_code == 200 and not WorkspaceRateLimit.objects.exists()


def test_wrong_methods(client, personas, production):
    c = client(personas.admin)
    assert c.get(workspace_url("billing:workspace_rate_limit_reset", production)).status_code == 405
    assert c.post(workspace_url("billing:workspace_limits", production)).status_code == 405
    assert c.post(reverse("billing:organization_limits")).status_code == 405


def test_default_workspace_tab_is_read_only(client, personas):
    default = personas.default_workspace
    page = (
        client(personas.admin)
        .get(workspace_url("billing:workspace_limits", default))
        .content.decode()
    )
    assert "The Default workspace has no limits of its own" in page
    assert 'aria-label="Edit' not in page and "Change Limit" not in page
    response = client(personas.admin).post(
        workspace_url("billing:workspace_spend_limit_set", default),
        {"amount": "5"},
        HTTP_HX_REQUEST="true",
    )
    assert "Default workspace has no limits" in response.content.decode()


def test_archived_workspace_limits_are_read_only(client, personas, production, htmx):
    from workspaces.services import workspace_archive

    workspace_archive(actor=Actor.for_user(personas.admin), workspace=production)
    c = client(personas.admin)
    assert (
        b'aria-label="Edit'
        not in c.get(workspace_url("billing:workspace_limits", production)).content
    )
    response = c.post(
        workspace_url("billing:workspace_rate_limit_set", production),
        {"model_group": "sonnet-4", "limiter": RPM, "value": "5"},
        **htmx,
    )
    assert b"archived" in response.content
    assert not WorkspaceRateLimit.objects.exists()


@pytest.mark.parametrize(("groups", "members"), [(0, 0), (20, 300)])
def test_limits_tab_queries_do_not_grow(
    client, personas, production, django_assert_num_queries, groups, members
):
    more_model_groups(groups)
    for member in MemberFactory.create_batch(members, organization=personas.org):
        WorkspaceMemberFactory(workspace=production, user=member.user)
    c = client(personas.admin)
    c.get(workspace_url("billing:workspace_limits", production))
    with django_assert_num_queries(16):
        response = c.get(workspace_url("billing:workspace_limits", production))
    assert response.content.count(b"data-limit=") == (5 + groups) * 3


def test_effective_limits_from_tier(personas, production, sonnet):
    row = selectors.effective_limits(production).rate_limit(sonnet.pk, RPM)
    assert (row.value, row.source, row.workspace_value) == (50, selectors.SOURCE_TIER, None)


def test_effective_limits_from_staff_override(personas, production, sonnet, admin_actor):
    services.organization_limits_change(
        actor=admin_actor, organization=personas.org, overrides=[(sonnet, RPM, 75)]
    )
    row = selectors.effective_limits(production).rate_limit(sonnet.pk, RPM)
    assert (row.value, row.source) == (75, selectors.SOURCE_OVERRIDE)


def test_effective_limits_from_workspace(personas, production, sonnet, admin_actor):
    services.workspace_rate_limit_set(
        actor=admin_actor, workspace=production, model_group=sonnet, limiter=RPM, value=20
    )
    row = selectors.effective_limits(production).rate_limit(sonnet.pk, RPM)
    assert (row.value, row.source, row.organization_value) == (20, selectors.SOURCE_WORKSPACE, 50)
    event = AuditEvent.objects.get(action="workspace_rate_limit.set")
    assert event.after == {"model_group": "sonnet-4", "limiter": RPM, "value": 20}


def test_default_workspace_has_no_limits_of_its_own(personas, sonnet, admin_actor):
    default = personas.default_workspace
    with pytest.raises(ValidationError, match="Default workspace has no limits"):
        services.workspace_rate_limit_set(
            actor=admin_actor, workspace=default, model_group=sonnet, limiter=RPM, value=5
        )
    with pytest.raises(ValidationError, match="Default workspace has no limits"):
        services.workspace_spend_limit_set(actor=admin_actor, workspace=default, amount_cents=100)
    with pytest.raises(ValidationError, match="Default workspace has no limits"):
        services.spend_notification_add(
            actor=admin_actor, organization=personas.org, workspace=default, amount_cents=100
        )


def test_archived_workspace_limits_cannot_change(personas, production, sonnet, admin_actor):
    from workspaces.services import workspace_archive

    workspace_archive(actor=admin_actor, workspace=production)
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_rate_limit_set(
            actor=admin_actor, workspace=production, model_group=sonnet, limiter=RPM, value=5
        )
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_spend_limit_set(
            actor=admin_actor, workspace=production, amount_cents=100
        )


def test_lowering_the_organization_below_a_workspace(personas, production, sonnet, admin_actor):
    services.organization_limits_change(
        actor=admin_actor, organization=personas.org, tier=UsageTier.objects.get(name="Tier 2")
    )
    services.workspace_rate_limit_set(
        actor=admin_actor, workspace=production, model_group=sonnet, limiter=RPM, value=500
    )
    services.organization_limits_change(
        actor=admin_actor, organization=personas.org, tier=UsageTier.objects.get(name="Tier 1")
    )
    row = selectors.effective_limits(production).rate_limit(sonnet.pk, RPM)
    assert row.above_organization and row.value == 50 and row.source == selectors.SOURCE_TIER


def test_usage_cost_and_month_to_date_spend(personas, production, admin_actor):

    key, _ = api_key_create(actor=admin_actor, workspace=production, name="k")
    sonnet = Model.objects.get(api_name="claude-sonnet-4-5")
    tokens = {
        "uncached_input_tokens": 1_000_000,
        "cache_creation_5m_tokens": 1_000_000,
        "cache_creation_1h_tokens": 1_000_000,
        "cache_read_tokens": 1_000_000,
        "output_tokens": 1_000_000,
    }
    # $3 + $3.75 + $6 + $0.30 + $15 = $28.05
    assert pricing.cost_cents(sonnet, tokens) == Decimal("2805")
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
    assert selectors.month_to_date_spend(personas.org, production, now=now) == Decimal("3")
    assert selectors.month_to_date_spend(
        personas.org, now=datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
    ) == Decimal("2805")
    with pytest.raises(ValidationError):
        usage.record(api_key=key, model=sonnet, tokens={"output_tokens": -1})
    with pytest.raises(ValidationError):
        usage.record(api_key=key, model=sonnet, tokens={"bogus_tokens": 1})
