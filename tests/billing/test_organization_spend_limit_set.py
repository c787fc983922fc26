"""Setting the organization's monthly spend limit: admins only, at most the usage tier's
cap."""

import pytest
from django.urls import reverse

from billing import selectors, services


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 204), ("billing", 403), ("developer", 403), ("user", 403)]
)
def test_organization_spend_limit_by_role(client, personas, htmx, who, status):
    response = client(getattr(personas, who)).post(
        reverse("billing:organization_spend_limit_set"), {"amount": "60"}, **htmx
    )
    assert response.status_code == status


def test_organization_spend_limit_above_cap(client, personas, htmx):
    response = client(personas.admin).post(
        reverse("billing:organization_spend_limit_set"), {"amount": "100.01"}, **htmx
    )
    assert b"at most your usage tier&#x27;s monthly cap ($100.00)" in response.content


def test_organization_spend_limit_lowered_below_workspace(personas, production, admin_actor):
    services.organization_spend_limit_set(
        actor=admin_actor, organization=personas.org, amount_cents=90_00
    )
    services.workspace_spend_limit_set(actor=admin_actor, workspace=production, amount_cents=60_00)
    services.organization_spend_limit_set(
        actor=admin_actor, organization=personas.org, amount_cents=50_00
    )
    limits = selectors.effective_limits(production)
    assert limits.spend_limit_cents == 50_00 and limits.spend_above_organization
