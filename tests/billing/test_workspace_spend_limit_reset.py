"""Resetting a workspace's spend limit (the refresh icon): confirmed in a dialog, then the
organization's limit applies again; audited; only for those who edit the workspace's limits."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from billing import services
from billing.models import WorkspaceSpendLimit
from tests.helpers import toast_of, workspace_url


@pytest.fixture
def limited(personas, production, tier_2, admin_actor):
    services.workspace_spend_limit_set(actor=admin_actor, workspace=production, amount_cents=150_00)
    return production


def test_refresh_icon_asks_then_resets(client, personas, limited, htmx):
    c = client(personas.admin)
    card = c.get(workspace_url("billing:workspace_limits", limited)).content.decode()
    url = workspace_url("billing:workspace_spend_limit_reset", limited)
    assert f'href="{url}"' in card
    assert 'aria-label="Reset the spend limit of Production to the organization\'s limit"' in card

    dialog = c.get(url, **htmx)
    text = dialog.content.decode()
    assert dialog.status_code == 200 and "<dialog" in text
    assert "Remove the monthly spend limit of <strong>Production</strong> ($150.00)?" in text
    assert "the organization&#x27;s ($400.00) applies" in text
    assert WorkspaceSpendLimit.objects.exists()

    done = c.post(url, **htmx)
    assert done.status_code == 204
    assert toast_of(done) == (
        "The spend limit of Production was reset: the organization's ($400.00) applies."
    )
    assert "limits:changed" in done["HX-Trigger"]
    assert not WorkspaceSpendLimit.objects.exists()
    (event,) = AuditEvent.objects.filter(action="workspace_spend_limit.reset")
    assert (event.before, event.after) == ({"amount_cents": 150_00}, {"amount_cents": None})

    # Nothing left to reset: no icon, and the dialog says so.
    card = c.get(workspace_url("billing:workspace_limits", limited)).content.decode()
    assert f'href="{url}"' not in card
    assert "has no spend limit of its own" in c.get(url, **htmx).content.decode()


def test_reset_works_without_script(client, personas, limited):
    c = client(personas.admin)
    url = workspace_url("billing:workspace_spend_limit_reset", limited)
    page = c.get(url)
    assert b"<html" in page.content and b"<dialog" in page.content
    response = c.post(url, follow=True)
    assert "The spend limit of Production was reset" in response.content.decode()
    assert not WorkspaceSpendLimit.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("billing", 403), ("user", 403), ("outsider", 404)])
def test_reset_needs_limits_edit(client, personas, limited, who, status):
    url = workspace_url("billing:workspace_spend_limit_reset", limited)
    c = client(getattr(personas, who))
    assert c.get(url).status_code == status
    assert c.post(url).status_code == status
    assert WorkspaceSpendLimit.objects.get().amount_cents == 150_00


def test_reset_service_is_audited_once_and_refuses_the_default(personas, limited, admin_actor):
    services.workspace_spend_limit_reset(actor=admin_actor, workspace=limited)
    services.workspace_spend_limit_reset(actor=admin_actor, workspace=limited)  # nothing to do
    assert AuditEvent.objects.filter(action="workspace_spend_limit.reset").count() == 1
    with pytest.raises(ValidationError, match="Default workspace has no limits"):
        services.workspace_spend_limit_reset(
            actor=admin_actor, workspace=personas.default_workspace
        )


def test_refused_reset_shows_in_the_dialog(client, personas, limited, admin_actor, htmx):
    from workspaces import services as workspace_services

    workspace_services.workspace_archive(actor=admin_actor, workspace=limited)
    response = client(personas.admin).post(
        workspace_url("billing:workspace_spend_limit_reset", limited), **htmx
    )
    assert response.status_code == 200 and b"archived" in response.content
    assert WorkspaceSpendLimit.objects.exists()
