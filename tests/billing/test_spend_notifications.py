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
from billing.models import Model, SpendNotification, UsageTier
from tests.factories import MemberFactory, WorkspaceFactory, WorkspaceMemberFactory
from tests.helpers import toast_of
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


def test_notification_above_the_spend_limit_asks_first(client, personas, htmx):
    """Tier 1 caps spend at $100 a month: a notification at $150 would never be sent while
    that holds, so the dialog says so and adds it only once that amount is confirmed."""
    c = client(personas.admin)
    url = reverse("billing:organization_spend_notification_add")
    dialog = c.get(url, **htmx).content.decode()
    assert "Its spend limit is $100.00 a month." in dialog

    warned = c.post(url, {"amount": "150"}, **htmx)
    text = warned.content.decode()
    assert warned.status_code == 200 and 'data-testid="above-spend-limit"' in text
    assert "$150.00 is above the spend limit of $100.00" in text
    assert 'name="confirmed_cents" value="15000"' in text and "Add anyway" in text
    assert not SpendNotification.objects.exists()

    # Confirming another amount than the one warned about asks again.
    again = c.post(url, {"amount": "175", "confirmed_cents": "15000"}, **htmx)
    assert "$175.00 is above the spend limit" in again.content.decode()
    assert not SpendNotification.objects.exists()

    added = c.post(url, {"amount": "150", "confirmed_cents": "15000"}, **htmx)
    assert added.status_code == 204
    assert toast_of(added) == (
        "Notification added: an e-mail when Acme Test's spend this month reaches $150.00."
    )
    assert SpendNotification.objects.get().amount_cents == 150_00

    # The list keeps saying it will not be sent while the limit holds.
    page = c.get(reverse("billing:organization_limits")).content.decode()
    assert "above the spend limit: not sent while it holds" in page


def test_notification_at_or_below_the_limit_is_added_at_once(client, personas, htmx):
    c = client(personas.admin)
    url = reverse("billing:organization_spend_notification_add")
    assert c.post(url, {"amount": "100"}, **htmx).status_code == 204
    assert c.post(url, {"amount": "20"}, **htmx).status_code == 204
    assert sorted(SpendNotification.objects.values_list("amount_cents", flat=True)) == [
        20_00,
        100_00,
    ]
    page = c.get(reverse("billing:organization_limits")).content.decode()
    assert "not sent while it holds" not in page


def test_workspace_notification_above_its_own_limit_asks_first(client, personas, production, htmx):
    services.organization_limits_change(
        actor=Actor.system("staff"),
        organization=personas.org,
        tier=UsageTier.objects.get(name="Tier 2"),
    )
    services.workspace_spend_limit_set(
        actor=Actor.for_user(personas.admin), workspace=production, amount_cents=150_00
    )
    url = reverse("billing:workspace_spend_notification_add", args=[production.public_id])
    warned = client(personas.admin).post(url, {"amount": "200"}, **htmx)
    assert "$200.00 is above the spend limit of $150.00" in warned.content.decode()
    assert not SpendNotification.objects.exists()
