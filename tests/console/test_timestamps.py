"""Times in the Admin API's answers, as Anthropic writes them: an object's times in UTC with
microseconds always, also when they are zero; a report bucket's bounds to the second."""

from datetime import UTC, datetime, timedelta, timezone

import time_machine
from django.test import Client

from accounts import services as account_services
from accounts.audit import Actor
from console.schemas import rfc3339, rfc3339_seconds
from workspaces import services as workspace_services


def test_microseconds_are_always_written():
    assert rfc3339(datetime(2026, 11, 29, 10, 0, tzinfo=UTC)) == "2026-11-29T10:00:00.000000Z"
    assert rfc3339(datetime(2026, 11, 29, 10, 0, 0, 120, tzinfo=UTC)) == (
        "2026-11-29T10:00:00.000120Z"
    )
    paris = timezone(timedelta(hours=1))
    assert rfc3339(datetime(2026, 11, 29, 11, 0, 0, 5, tzinfo=paris)) == (
        "2026-11-29T10:00:00.000005Z"
    )
    assert rfc3339_seconds(datetime(2026, 11, 29, tzinfo=UTC)) == "2026-11-29T00:00:00Z"


def test_an_object_made_on_a_whole_second_says_so_with_microseconds(personas):
    _key, secret = account_services.admin_key_create(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="ops"
    )
    api = Client(HTTP_X_API_KEY=secret)
    with time_machine.travel(datetime(2026, 11, 29, 10, 0, tzinfo=UTC), tick=False):
        workspace = workspace_services.workspace_create(
            actor=Actor.for_user(personas.admin),
            organization=personas.org,
            name="Whole",
            display_color="#2A9D8F",
        )
    body = api.get(f"/v1/organizations/workspaces/{workspace.public_id}").json()
    assert body["created_at"] == "2026-11-29T10:00:00.000000Z"
    report = api.get(
        "/v1/organizations/usage_report/messages",
        {"starting_at": "2026-11-29T00:00:00Z", "ending_at": "2026-11-30T00:00:00Z"},
    ).json()
    assert (report["data"][0]["starting_at"], report["data"][0]["ending_at"]) == (
        "2026-11-29T00:00:00Z",
        "2026-11-30T00:00:00Z",
    )
