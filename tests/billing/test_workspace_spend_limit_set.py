"""Setting a workspace's monthly spend limit: lower than the organization's; empty removes
it."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import AuditEvent
from billing import selectors, services
from billing.models import WorkspaceSpendLimit
from tests.helpers import toast_of, workspace_url


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "at least $0.01"),
        ("-5", "at least $0.01"),
        ("ten", "Enter an amount"),
        ("10.999", "at most 2 decimal places"),
        ("1" + "0" * 30, "too large"),
        ("400", "lower than the organization's ($400.00)"),
        ("500", "lower than the organization's"),
    ],
)
def test_spend_limit_bad_input(client, personas, production, tier_2, htmx, amount, message):
    response = client(personas.admin).post(
        workspace_url("billing:workspace_spend_limit_set", production), {"amount": amount}, **htmx
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert not WorkspaceSpendLimit.objects.exists()


def test_empty_amount_removes_the_workspace_spend_limit(client, personas, production, tier_2, htmx):
    c = client(personas.admin)
    c.post(
        workspace_url("billing:workspace_spend_limit_set", production), {"amount": "100.50"}, **htmx
    )
    assert WorkspaceSpendLimit.objects.get().amount_cents == 100_50
    c.post(workspace_url("billing:workspace_spend_limit_set", production), {"amount": ""}, **htmx)
    assert not WorkspaceSpendLimit.objects.exists()


def test_spend_limits(personas, production, admin_actor):
    settings = selectors.organization_settings(personas.org)
    assert (settings.tier.name, settings.spend_cap_cents, settings.effective_spend_limit_cents) == (
        "Tier 1",
        100_00,
        100_00,
    )
    with pytest.raises(ValidationError, match="at most your usage tier's monthly cap"):
        services.organization_spend_limit_set(
            actor=admin_actor, organization=personas.org, amount_cents=100_01
        )
    services.organization_spend_limit_set(
        actor=admin_actor, organization=personas.org, amount_cents=80_00
    )
    with pytest.raises(ValidationError, match="lower than the organization's"):
        services.workspace_spend_limit_set(
            actor=admin_actor, workspace=production, amount_cents=80_00
        )
    services.workspace_spend_limit_set(actor=admin_actor, workspace=production, amount_cents=79_99)
    limits = selectors.effective_limits(production)
    assert limits.spend_limit_cents == 79_99
    services.workspace_spend_limit_set(actor=admin_actor, workspace=production, amount_cents=None)
    limits = selectors.effective_limits(production)
    assert limits.spend_limit_cents == 80_00
    assert AuditEvent.objects.filter(action="organization_spend_limit.set").count() == 1
    assert AuditEvent.objects.filter(action="workspace_spend_limit.set").count() == 2


@pytest.mark.parametrize("amount", [0, -1, 10**30])
def test_bad_spend_amounts(personas, production, admin_actor, amount):
    with pytest.raises(ValidationError):
        services.workspace_spend_limit_set(
            actor=admin_actor, workspace=production, amount_cents=amount
        )
    with pytest.raises(ValidationError):
        services.organization_spend_limit_set(
            actor=admin_actor, organization=personas.org, amount_cents=amount
        )
    assert not AuditEvent.objects.exists()


def test_saved_spend_limit_says_what_it_is_now(client, personas, production, tier_2, htmx):
    c = client(personas.admin)
    url = workspace_url("billing:workspace_spend_limit_set", production)
    saved = c.post(url, {"amount": "150"}, **htmx)
    assert toast_of(saved) == "The spend limit of Production is now $150.00 a month."
    removed = c.post(url, {"amount": ""}, **htmx)
    assert toast_of(removed) == (
        "The spend limit of Production was removed: the organization's ($400.00) applies."
    )


def test_amount_fields_show_the_currency(client, personas, production, tier_2):
    for who, url in (
        (personas.admin, workspace_url("billing:workspace_spend_limit_set", production)),
        (personas.admin, workspace_url("billing:workspace_spend_notification_add", production)),
        (personas.admin, reverse("billing:organization_spend_limit_set")),
        (
            personas.billing,
            workspace_url("billing:spend_limit_increase_request_create", production),
        ),
    ):
        page = client(who).get(url).content.decode()
        assert re.search(
            r'<div class="amount-input"><span class="amount-input__symbol" aria-hidden="true">\$</span>'
            r'<input type="number" name="amount"[^>]*>'
            r'<span class="amount-input__code" aria-hidden="true">USD</span></div>',
            page,
        ), url
