"""Resetting a workspace's rate limit: the organization's applies again."""

from accounts.models import AuditEvent
from billing import selectors, services
from tests.helpers import RPM


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
