"""Resetting a workspace's rate limit: the organization's applies again."""

from accounts.models import AuditEvent
from billing import selectors, services
from billing.models import WorkspaceRateLimit
from tests.helpers import RPM, toast_of, workspace_url
from workspaces import services as workspace_services


def test_reset_returns_to_the_organization(personas, production, sonnet, admin_actor):
    services.workspace_rate_limit_set(
        actor=admin_actor, workspace=production, model_group=sonnet, limiter=RPM, value=20
    )
    services.workspace_rate_limit_reset(
        actor=admin_actor, workspace=production, model_group=sonnet, limiter=RPM
    )
    row = selectors.effective_limits(production).rate_limit(sonnet.pk, RPM)
    assert (row.value, row.workspace_value) == (50, None)
    assert AuditEvent.objects.filter(action="workspace_rate_limit.reset").count() == 1


def test_reset_on_the_page_says_so(client, personas, production, sonnet, admin_actor, htmx):
    services.workspace_rate_limit_set(
        actor=admin_actor, workspace=production, model_group=sonnet, limiter=RPM, value=20
    )
    c = client(personas.admin)
    url = workspace_url("billing:workspace_rate_limit_reset", production)
    reset = c.post(url, {"model_group": "sonnet-4", "limiter": RPM}, **htmx)
    assert toast_of(reset) == (
        "Claude Sonnet 4.x requests per minute reset to the organization's limit (50) "
        "in Production."
    )
    assert "autofocus" in reset.content.decode()  # on the pencil: the reset button is gone
    assert not WorkspaceRateLimit.objects.exists()


def test_refused_reset_shows_in_the_row(client, personas, production, sonnet, admin_actor, htmx):
    services.workspace_rate_limit_set(
        actor=admin_actor, workspace=production, model_group=sonnet, limiter=RPM, value=20
    )
    workspace_services.workspace_archive(actor=admin_actor, workspace=production)
    refused = client(personas.admin).post(
        workspace_url("billing:workspace_rate_limit_reset", production),
        {"model_group": "sonnet-4", "limiter": RPM},
        **htmx,
    )
    assert refused.status_code == 200 and toast_of(refused) is None
    assert 'class="errorlist" role="alert"><li>This workspace is archived' in (
        refused.content.decode()
    )
    assert WorkspaceRateLimit.objects.get().value == 20
