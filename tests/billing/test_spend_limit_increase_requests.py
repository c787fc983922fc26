"""Spend limit increase requests: a member who sees a workspace's limits but cannot change
them asks for more on its Limits tab; the organization's admins approve or deny."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.audit import Actor
from accounts.models import AuditEvent
from accounts.roles import WorkspaceRole
from billing import services
from billing.models import SpendLimitIncreaseRequest, WorkspaceSpendLimit
from tests.factories import WorkspaceFactory, WorkspaceMemberFactory


@pytest.fixture
def support(personas):
    """ "Support", limited to $10 a month: the developer persona is a Workspace Developer there,
    the user persona a Workspace User; neither may change its limits, so they ask."""
    support = WorkspaceFactory(organization=personas.org, name="Support")
    WorkspaceMemberFactory(workspace=support, user=personas.developer, role=WorkspaceRole.DEVELOPER)
    WorkspaceMemberFactory(workspace=support, user=personas.user, role=WorkspaceRole.USER)
    services.workspace_spend_limit_set(
        actor=Actor.for_user(personas.admin), workspace=support, amount_cents=1_000
    )
    return support


def _ask(personas, workspace, cents=5_000):
    return services.spend_limit_increase_request_create(
        actor=Actor.for_user(personas.developer), workspace=workspace, amount_cents=cents
    )


def test_limits_tab_offers_the_request_to_those_who_cannot_edit(personas, client, support):
    developer_client = client(personas.developer)
    admin_client = client(personas.admin)
    url = reverse("billing:workspace_limits", args=[support.public_id])
    assert "Request increase" in developer_client.get(url).content.decode()
    page = admin_client.get(url).content.decode()
    assert "Request increase" not in page and "Change Limit" in page


def test_asking_emails_the_admins_and_is_audited(
    client, personas, support, htmx, django_capture_on_commit_callbacks
):
    developer_client = client(personas.developer)
    url = reverse("billing:spend_limit_increase_request_create", args=[support.public_id])
    assert developer_client.get(url, **htmx).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        asked = developer_client.post(url, {"amount": "50.00", "message": "Launch week"}, **htmx)
    assert asked.status_code == 204
    increase = SpendLimitIncreaseRequest.objects.get()
    assert (increase.amount_cents, increase.message, increase.requested_by) == (
        5_000,
        "Launch week",
        personas.developer,
    )
    assert [m.to for m in mail.outbox] == [["admin@acme.test"]]
    assert "$50.00" in mail.outbox[0].body and "Support" in mail.outbox[0].subject
    assert AuditEvent.objects.filter(action="spend_limit_increase_request.create").exists()
    tab = developer_client.get(reverse("billing:workspace_limits", args=[support.public_id]))
    assert 'data-testid="open-increase-request"' in tab.content.decode()


def test_asking_twice_or_for_too_little_or_too_much_is_refused(personas, support):
    with pytest.raises(ValidationError, match="more than the current limit"):
        _ask(personas, support, cents=1_000)
    with pytest.raises(ValidationError, match="lower than the organization's"):
        _ask(personas, support, cents=10_000)
    _ask(personas, support)
    with pytest.raises(ValidationError, match="already asked"):
        _ask(personas, support, cents=6_000)
    assert SpendLimitIncreaseRequest.objects.count() == 1


def test_who_may_ask_and_answer(client, personas, support):
    user_client = client(personas.user)
    developer_client = client(personas.developer)
    client_for = client
    url = reverse("billing:spend_limit_increase_request_create", args=[support.public_id])
    assert user_client.get(url).status_code == 403
    assert (
        developer_client.get(reverse("billing:spend_limit_increase_request_list")).status_code
        == 403
    )
    increase = _ask(personas, support)
    outsider = client_for(personas.outsider)
    approve = reverse("billing:spend_limit_increase_request_approve", args=[increase.public_id])
    assert outsider.get(approve).status_code == 404
    default = reverse(
        "billing:spend_limit_increase_request_create", args=[personas.default_workspace.public_id]
    )
    assert "no spend limit of its own" in developer_client.get(default).content.decode()
    assert developer_client.post(default, {"amount": "5"}).status_code == 200  # refused in place
    assert SpendLimitIncreaseRequest.objects.count() == 1


def test_approving_sets_the_limit_and_tells_the_requester(
    client, personas, support, htmx, django_capture_on_commit_callbacks
):
    admin_client = client(personas.admin)
    increase = _ask(personas, support)
    listed = admin_client.get(reverse("billing:spend_limit_increase_request_list")).content.decode()
    assert f'data-request="{increase.public_id}"' in listed
    url = reverse("billing:spend_limit_increase_request_approve", args=[increase.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url, {"amount": "40.00"}, **htmx).status_code == 204
    assert WorkspaceSpendLimit.objects.get(workspace=support).amount_cents == 4_000
    increase.refresh_from_db()
    assert (increase.status, increase.approved_amount_cents, increase.resolved_by) == (
        "approved",
        4_000,
        personas.admin,
    )
    assert [m.to for m in mail.outbox] == [["developer@acme.test"]]
    assert "approved" in mail.outbox[0].subject and "$40.00" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="spend_limit_increase_request.approve").exists()
    assert admin_client.post(url, {"amount": "45.00"}, **htmx).status_code == 200  # answered


def test_denying_tells_the_requester_and_changes_no_limit(
    client, personas, support, htmx, django_capture_on_commit_callbacks
):
    admin_client = client(personas.admin)
    increase = _ask(personas, support)
    url = reverse("billing:spend_limit_increase_request_deny", args=[increase.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url, **htmx).status_code == 204
    increase.refresh_from_db()
    assert increase.status == "denied"
    assert WorkspaceSpendLimit.objects.get(workspace=support).amount_cents == 1_000
    assert [m.to for m in mail.outbox] == [["developer@acme.test"]]
    assert AuditEvent.objects.filter(action="spend_limit_increase_request.deny").exists()


def test_an_unanswered_request_lapses(client, personas, support):
    admin_client = client(personas.admin)
    increase = _ask(personas, support)
    SpendLimitIncreaseRequest.objects.filter(pk=increase.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    increase.refresh_from_db()
    assert increase.current_status() == "denied"
    with pytest.raises(ValidationError, match="no longer be approved"):
        services.spend_limit_increase_request_approve(
            actor=Actor.for_user(personas.admin), increase=increase
        )
    page = admin_client.get(reverse("billing:spend_limit_increase_request_list")).content.decode()
    assert "Lapsed" in page
    _ask(personas, support, cents=6_000)  # a lapsed request does not block a new one


def test_listing_by_status_reads_a_lapsed_request_as_denied(personas, support):
    from billing import selectors

    pending = _ask(personas, support)
    lapsed = services.spend_limit_increase_request_create(
        actor=Actor.for_user(personas.user), workspace=support, amount_cents=5_000
    )
    SpendLimitIncreaseRequest.objects.filter(pk=lapsed.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    def listed(*statuses):
        return [r.public_id for r in selectors.increase_requests(personas.org, statuses=statuses)]

    assert listed("pending") == [pending.public_id]
    assert listed("denied") == [lapsed.public_id]
    assert listed("approved") == []
    assert listed() == [lapsed.public_id, pending.public_id]  # newest first
    assert [r.public_id for r in SpendLimitIncreaseRequest.objects.open()] == [pending.public_id]


def test_requests_of_former_members_are_left_out_everywhere(client, personas, support):
    from accounts import services as account_services
    from accounts.models import OrganizationMember
    from billing import selectors

    mine = _ask(personas, support)
    theirs = services.spend_limit_increase_request_create(
        actor=Actor.for_user(personas.user), workspace=support, amount_cents=5_000
    )
    account_services.member_remove(
        actor=Actor.for_user(personas.admin),
        member=OrganizationMember.objects.get(organization=personas.org, user=personas.user),
    )
    assert [r.public_id for r in selectors.increase_requests(personas.org)] == [mine.public_id]
    admin_client = client(personas.admin)
    page = admin_client.get(reverse("billing:spend_limit_increase_request_list")).content.decode()
    assert personas.developer.email in page and personas.user.email not in page
    answer = admin_client.get(
        reverse("billing:spend_limit_increase_request_deny", args=[theirs.public_id])
    )
    assert answer.status_code == 404


def test_approving_for_another_period_than_monthly_is_refused(personas, support):
    increase = _ask(personas, support)
    with pytest.raises(ValidationError, match="monthly"):
        services.spend_limit_increase_request_approve(
            actor=Actor.for_user(personas.admin), increase=increase, period="weekly"
        )
    increase.refresh_from_db()
    assert increase.status == "pending"
    assert WorkspaceSpendLimit.objects.get(workspace=support).amount_cents == 1_000
