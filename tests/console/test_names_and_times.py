"""Names and times are checked by the services, so every path (pages, Admin API, admin,
commands) refuses the same bad values and stores nothing."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError

from accounts import services as account_services
from accounts.audit import Actor
from accounts.models import AuditEvent
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services
from workspaces.models import ApiKey, Workspace

BAD_NAMES = [
    "dev key\r\nBcc: x@evil.test",
    "tab\tname",
    "nul\x00name",
    "invoice\u202egpj.exe",
    "isolate\u2066x\u2069",
    "",
    "   ",
    "x" * 10_000,
]


@pytest.fixture
def actor(personas):
    return Actor.for_user(personas.admin)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_workspace_names_are_refused_and_nothing_changes(personas, actor, name):
    existing = WorkspaceFactory(organization=personas.org, name="Research")
    before = (Workspace.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as caught:
        workspace_services.workspace_create(
            actor=actor, organization=personas.org, name=name, display_color="#D97757"
        )
    assert "name" in caught.value.message_dict
    with pytest.raises(ValidationError):
        workspace_services.workspace_update(actor=actor, workspace=existing, name=name)
    existing.refresh_from_db()
    assert existing.name == "Research"
    assert (Workspace.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.parametrize("name", BAD_NAMES)
def test_key_names_are_refused(personas, actor, name):
    with pytest.raises(ValidationError):
        workspace_services.api_key_create(
            actor=actor, workspace=personas.default_workspace, name=name
        )
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("name", BAD_NAMES)
def test_organization_names_are_refused(personas, actor, name):
    with pytest.raises(ValidationError):
        account_services.organization_rename(actor=actor, organization=personas.org, name=name)
    personas.org.refresh_from_db()
    assert personas.org.name == "Acme Test"


def test_names_in_any_script_are_kept(personas, actor):
    workspace = workspace_services.workspace_create(
        actor=actor, organization=personas.org, name="Équipe 数据 👩‍💻", display_color="#D97757"
    )
    assert workspace.name == "Équipe 数据 👩‍💻"


@pytest.mark.parametrize(
    "expires_at",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1))),
        datetime(3000, 1, 1, tzinfo=UTC),
        datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=15))),
    ],
)
def test_key_expiries_outside_the_accepted_range_are_refused_before_storing(
    personas, actor, expires_at
):
    with pytest.raises(ValidationError) as caught:
        workspace_services.api_key_create(
            actor=actor, workspace=personas.default_workspace, name="k", expires_at=expires_at
        )
    assert "2999" in caught.value.message_dict["expires_at"][0]
    assert not ApiKey.objects.exists()
