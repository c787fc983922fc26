"""Spend notifications: added and removed by admins, sent once per threshold per calendar
month, to the right people."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.audit import Actor
from accounts.roles import WorkspaceRole
from billing import services, usage
from billing.models import Model, SpendNotification
from tests.factories import MemberFactory, WorkspaceFactory, WorkspaceMemberFactory
from workspaces.services import api_key_create


def test_organization_notifications_add_and_remove(client, personas, htmx):
    c = client(personas.admin)
    assert (
        c.post(
            reverse("billing:organization_spend_notification_add"), {"amount": "30"}, **htmx
        ).status_code
        == 204
    )
    duplicate = c.post(
        reverse("billing:organization_spend_notification_add"), {"amount": "30"}, **htmx
    )
    assert b"already a notification" in duplicate.content
    assert (
        client(personas.billing)
        .post(reverse("billing:organization_spend_notification_remove", args=[30_00]))
        .status_code
        == 403
    )
    assert (
        client(personas.outsider)
        .post(reverse("billing:organization_spend_notification_remove", args=[30_00]))
        .status_code
        == 404
    )
    assert (
        c.post(
            reverse("billing:organization_spend_notification_remove", args=[30_00]), **htmx
        ).status_code
        == 204
    )
    assert (
        c.post(
            reverse("billing:organization_spend_notification_remove", args=[30_00]), **htmx
        ).status_code
        == 404
    )


@pytest.fixture
def setup(personas):
    actor = Actor.for_user(personas.admin)
    workspace = WorkspaceFactory(organization=personas.org, name="Production")
    WorkspaceMemberFactory(workspace=workspace, user=personas.developer, role=WorkspaceRole.ADMIN)
    WorkspaceMemberFactory(workspace=workspace, user=personas.user, role=WorkspaceRole.DEVELOPER)
    key, _ = api_key_create(actor=actor, workspace=workspace, name="k")
    model = Model.objects.get(api_name="claude-sonnet-4-5")
    return actor, workspace, key, model


def spend(key, model, dollars: int, at: datetime) -> None:
    """Record `dollars` of output at Sonnet's $15 per million output tokens."""
    usage.record(
        api_key=key, model=model, tokens={"output_tokens": dollars * 1_000_000 // 15}, at=at
    )


def check(personas, workspace, now, capture):
    with capture(execute=True):
        return services.spend_notifications_check(
            organization=personas.org, workspace=workspace, now=now
        )


def test_threshold_sends_once_per_month_to_the_right_people(
    personas, setup, django_capture_on_commit_callbacks
):
    actor, workspace, key, model = setup
    services.spend_notification_add(
        actor=actor, organization=personas.org, workspace=workspace, amount_cents=10_00
    )
    services.spend_notification_add(
        actor=actor, organization=personas.org, workspace=workspace, amount_cents=50_00
    )
    october = datetime(2026, 10, 20, tzinfo=UTC)
    with time_machine.travel(october):
        spend(key, model, 9, october)
        assert check(personas, workspace, october, django_capture_on_commit_callbacks) == 0
        spend(key, model, 3, october)
        assert check(personas, workspace, october, django_capture_on_commit_callbacks) == 1
        assert check(personas, workspace, october, django_capture_on_commit_callbacks) == 0
    (message,) = mail.outbox
    assert message.to == sorted(["admin@acme.test", "billing@acme.test", "developer@acme.test"])
    assert "$10.00" in message.subject
    november = datetime(2026, 11, 2, tzinfo=UTC)
    with time_machine.travel(november):
        assert (
            check(personas, workspace, november, django_capture_on_commit_callbacks) == 0
        )  # new month, no spend yet
        spend(key, model, 12, november)
        assert check(personas, workspace, november, django_capture_on_commit_callbacks) == 1
    assert len(mail.outbox) == 2


def test_removing_a_notification_stops_it(personas, setup, django_capture_on_commit_callbacks):
    actor, workspace, key, model = setup
    notification = services.spend_notification_add(
        actor=actor, organization=personas.org, workspace=workspace, amount_cents=1_00
    )
    services.spend_notification_remove(actor=actor, notification=notification)
    now = datetime(2026, 10, 5, tzinfo=UTC)
    spend(key, model, 5, now)
    assert check(personas, workspace, now, django_capture_on_commit_callbacks) == 0
    assert not mail.outbox


def test_organization_notifications(personas, setup, django_capture_on_commit_callbacks):
    actor, _workspace, key, model = setup
    other = WorkspaceFactory(organization=personas.other_org)
    other_key, _ = api_key_create(actor=actor, workspace=other, name="o")
    services.spend_notification_add(
        actor=actor, organization=personas.org, workspace=None, amount_cents=20_00
    )
    now = datetime(2026, 10, 5, tzinfo=UTC)
    spend(other_key, model, 50, now)  # another organization's spend does not count
    spend(key, model, 15, now)
    assert check(personas, None, now, django_capture_on_commit_callbacks) == 0
    spend(key, model, 6, now)
    assert check(personas, None, now, django_capture_on_commit_callbacks) == 1
    assert mail.outbox[0].to == ["admin@acme.test", "billing@acme.test"]


def test_duplicate_and_bad_notifications(personas, setup):
    actor, workspace, _key, _model = setup
    services.spend_notification_add(
        actor=actor, organization=personas.org, workspace=workspace, amount_cents=5_00
    )
    with pytest.raises(ValidationError, match="already a notification"):
        services.spend_notification_add(
            actor=actor, organization=personas.org, workspace=workspace, amount_cents=5_00
        )
    for amount in (0, -1, 10**30):
        with pytest.raises(ValidationError):
            services.spend_notification_add(
                actor=actor, organization=personas.org, workspace=workspace, amount_cents=amount
            )
    # The same amount can exist at the organization level.
    services.spend_notification_add(
        actor=actor, organization=personas.org, workspace=None, amount_cents=5_00
    )
    assert SpendNotification.objects.count() == 2


def test_recipients_exclude_other_members(personas, setup):
    _actor, workspace, _key, _model = setup
    MemberFactory(organization=personas.org, user__email="zz@acme.test")
    assert services.notification_recipients(personas.org, workspace) == [
        "admin@acme.test",
        "billing@acme.test",
        "developer@acme.test",
    ]
