"""Admin API writes: validated whole before anything is written, one transaction each; a
refused write never leaves a row that breaks later reads: after each, every page of the URL
resolver, every Admin API list and what it lists, and every staff list answer as before."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.audit import Actor
from accounts.models import AuditEvent
from billing.models import WorkspaceRateLimit
from tests.api.test_contract import error
from tests.bad_input.reads import Reads
from tests.bad_input.world import build_world
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services
from workspaces.models import ApiKey

POISON = [
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59Z",
    "2999-12-31T23:59:59-14:30",
    "0001-01-01T00:00:00+01:00",
]


@pytest.fixture
def reads(personas, staff) -> Reads:
    """Every read of the console (each page of the resolver, each Admin API list and what it
    lists, each staff list), answered once before the bad writes."""
    return Reads(build_world(personas, staff))


def test_a_refused_expiry_is_never_stored_and_every_read_still_answers(api, reads):
    workspace = reads.world.own.workspace
    keys_before = ApiKey.objects.count()
    for expires_at in POISON:
        refused = error(
            api.post(
                f"organizations/workspaces/{workspace.public_id}/api_keys",
                {"name": "late", "expires_at": expires_at},
            ),
            400,
            "invalid_request_error",
        )
        assert "years 2000 to 2999" in refused["message"]
        assert ApiKey.objects.count() == keys_before
        assert reads.changed() == [], expires_at


def test_the_service_refuses_the_expiry_too(personas):
    # The API's schema refuses it first; the service holds the rule for every other path.
    far = datetime(2999, 12, 31, 23, tzinfo=UTC) + timedelta(days=1)
    with pytest.raises(ValidationError, match="2000 to 2999"):
        workspace_services.api_key_create(
            actor=Actor.for_user(personas.admin),
            workspace=personas.default_workspace,
            name="far",
            expires_at=far,
        )


def test_a_key_update_is_all_or_nothing(api, personas, reads):
    key, _secret = workspace_services.api_key_create(
        actor=Actor.for_user(personas.admin), workspace=personas.default_workspace, name="old"
    )
    events = AuditEvent.objects.count()
    error(
        api.post(f"organizations/api_keys/{key.public_id}", {"name": "x", "status": "bogus"}),
        400,
        "invalid_request_error",
    )
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # The rename alone would pass; the status change of an expired key is refused: neither.
    error(
        api.post(f"organizations/api_keys/{key.public_id}", {"name": "x", "status": "inactive"}),
        400,
        "invalid_request_error",
    )
    key.refresh_from_db()
    assert key.name == "old" and AuditEvent.objects.count() == events
    assert reads.changed() == []


def test_a_workspace_update_is_all_or_nothing(api, personas, reads):
    workspace = WorkspaceFactory(organization=personas.org, name="Before")
    error(
        api.post(
            f"organizations/workspaces/{workspace.public_id}",
            {"name": "After", "tags": {"anthropic-internal": "no"}},
        ),
        400,
        "invalid_request_error",
    )
    workspace.refresh_from_db()
    assert workspace.name == "Before" and workspace.tags == {}
    assert reads.changed() == []


def test_a_rate_limit_update_applies_all_its_limits_or_none(api, personas, reads):
    workspace = WorkspaceFactory(organization=personas.org)
    path = f"organizations/workspaces/{workspace.public_id}/rate_limits/sonnet-4"
    for limits in (
        [
            {"type": "requests_per_minute", "value": 10},
            {"type": "output_tokens_per_minute", "value": 10**9},
        ],
        [{"type": "requests_per_minute", "value": 10}, {"type": "tokens_per_day", "value": 5}],
        [{"type": "requests_per_minute", "value": 10}, {"type": "requests_per_minute", "value": 9}],
        [
            {"type": "requests_per_minute", "value": 10},
            {"type": "output_tokens_per_minute", "value": -1},
        ],
    ):
        error(api.post(path, {"limits": limits}), 400, "invalid_request_error")
    assert not WorkspaceRateLimit.objects.filter(workspace=workspace).exists()
    assert not AuditEvent.objects.filter(action="rate_limit.set").exists()
    assert reads.changed() == []


def test_the_workspace_limit_names_its_error_code(api, personas):
    WorkspaceFactory.create_batch(99, organization=personas.org)  # with Default: 100 active
    refused = error(
        api.post("organizations/workspaces", {"name": "101st"}), 400, "invalid_request_error"
    )
    assert refused["details"] == {"error_code": "workspace_limit_exceeded"}
    assert "100 workspaces" in refused["message"]


def test_a_taken_workspace_name_names_its_error_code(api, personas):
    created = api.post("organizations/workspaces", {"name": "Research"})
    assert created.status_code == 200
    twin = error(
        api.post("organizations/workspaces", {"name": "research"}), 400, "invalid_request_error"
    )
    assert twin["details"] == {"error_code": "workspace_name_taken"}
    assert "already a workspace named" in twin["message"]
    other = api.post("organizations/workspaces", {"name": "Other"}).json()
    renamed = api.post(f"organizations/workspaces/{other['id']}", {"name": "RESEARCH"})
    assert error(renamed, 400, "invalid_request_error")["details"] == {
        "error_code": "workspace_name_taken"
    }
