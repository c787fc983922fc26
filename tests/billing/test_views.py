"""The Limits tab and Settings > Limits: who sees and edits what, bad input, queries."""

import html

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import Actor
from accounts.models import AuditEvent
from accounts.roles import WorkspaceRole
from billing import services
from billing.models import (
    Limiter,
    ModelGroup,
    SpendNotification,
    TierLimit,
    UsageTier,
    WorkspaceRateLimit,
    WorkspaceSpendLimit,
)
from tests.factories import MemberFactory, WorkspaceFactory, WorkspaceMemberFactory

RPM = Limiter.REQUESTS_PER_MINUTE


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def workspace(personas):
    """The developer persona is Workspace Developer here, the user persona Workspace User."""
    workspace = WorkspaceFactory(organization=personas.org, name="Production")
    WorkspaceMemberFactory(
        workspace=workspace, user=personas.developer, role=WorkspaceRole.DEVELOPER
    )
    WorkspaceMemberFactory(workspace=workspace, user=personas.user, role=WorkspaceRole.USER)
    return workspace


@pytest.fixture
def tier2(personas):
    services.organization_limits_change(
        actor=Actor.system("staff"),
        organization=personas.org,
        tier=UsageTier.objects.get(name="Tier 2"),
    )
    services.organization_spend_limit_set(
        actor=Actor.system("staff"), organization=personas.org, amount_cents=400_00
    )


def url(name, workspace=None, *args):
    return reverse(
        f"billing:{name}", args=[workspace.public_id, *args] if workspace else list(args)
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("billing", 200), ("developer", 200), ("user", 403), ("outsider", 404)],
)
def test_limits_tab_visibility(personas, workspace, who, status):
    assert (
        client(getattr(personas, who)).get(url("workspace_limits", workspace)).status_code == status
    )


def test_pencils_only_for_editors(personas, workspace):
    assert (
        b'aria-label="Edit Claude Sonnet 4.x'
        in client(personas.admin).get(url("workspace_limits", workspace)).content
    )
    for who in (personas.billing, personas.developer):
        page = client(who).get(url("workspace_limits", workspace)).content
        assert (
            b'aria-label="Edit' not in page
            and b"Change Limit" not in page
            and b"Add notification" not in page
        )


EDITS = [
    ("workspace_rate_limit_edit", {"model_group": "sonnet-4", "limiter": RPM, "value": "10"}),
    ("workspace_rate_limit_reset", {"model_group": "sonnet-4", "limiter": RPM}),
    ("workspace_spend_limit_change", {"amount": "50"}),
    ("workspace_notification_add", {"amount": "25"}),
]


@pytest.mark.parametrize(("name", "data"), EDITS)
@pytest.mark.parametrize(
    ("who", "status"), [("billing", 403), ("developer", 403), ("user", 403), ("outsider", 404)]
)
def test_edits_refused_below_workspace_admin(personas, workspace, tier2, name, data, who, status):
    assert client(getattr(personas, who)).post(url(name, workspace), data).status_code == status
    assert not WorkspaceRateLimit.objects.exists() and not WorkspaceSpendLimit.objects.exists()
    assert not SpendNotification.objects.filter(workspace=workspace).exists()


def test_workspace_admin_can_edit(personas, workspace, tier2, htmx):
    WorkspaceMemberFactory(
        workspace=workspace,
        user=MemberFactory(organization=personas.org).user,
        role=WorkspaceRole.ADMIN,
    )
    ws_admin = workspace.members.get(role=WorkspaceRole.ADMIN).user
    c = client(ws_admin)
    response = c.post(
        url("workspace_rate_limit_edit", workspace),
        {"model_group": "sonnet-4", "limiter": RPM, "value": "10"},
        **htmx,
    )
    assert response.status_code == 200 and b"<tr" in response.content and b"10" in response.content
    assert (
        c.post(url("workspace_spend_limit_change", workspace), {"amount": "50"}, **htmx).status_code
        == 204
    )
    assert (
        c.post(url("workspace_notification_add", workspace), {"amount": "25"}, **htmx).status_code
        == 204
    )
    assert WorkspaceSpendLimit.objects.get().amount_cents == 50_00
    assert c.post(url("workspace_notification_remove", workspace, 25_00), **htmx).status_code == 204
    assert not SpendNotification.objects.exists()
    response = c.post(
        url("workspace_rate_limit_reset", workspace),
        {"model_group": "sonnet-4", "limiter": RPM},
        **htmx,
    )
    assert response.status_code == 200 and not WorkspaceRateLimit.objects.exists()


def test_wrong_methods(personas, workspace):
    c = client(personas.admin)
    assert c.get(url("workspace_rate_limit_reset", workspace)).status_code == 405
    assert c.post(url("workspace_limits", workspace)).status_code == 405
    assert c.post(url("organization_limits")).status_code == 405


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "greater than zero"),
        ("-3", "greater than zero"),
        ("abc", "Enter a whole number."),
        ("1.5", "Enter a whole number."),
        ("1" + "0" * 30, "too large"),
        ("", "Enter a limit."),
        ("51", "at most the organization's (50)"),
    ],
)
def test_rate_limit_bad_input_shows_in_place(personas, workspace, htmx, value, message):
    response = client(personas.admin).post(
        url("workspace_rate_limit_edit", workspace),
        {"model_group": "sonnet-4", "limiter": RPM, "value": value},
        **htmx,
    )
    assert response.status_code == 200 and message in html.unescape(response.content.decode())
    assert b'name="value"' in response.content  # still editing
    assert not WorkspaceRateLimit.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "data",
    [{"model_group": "gpt-9", "limiter": RPM}, {"model_group": "sonnet-4", "limiter": "per_day"}],
)
def test_unknown_group_or_limiter_is_404(personas, workspace, htmx, data):
    response = client(personas.admin).post(
        url("workspace_rate_limit_edit", workspace), {**data, "value": "5"}, **htmx
    )
    assert response.status_code == 404
    assert not WorkspaceRateLimit.objects.exists()


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
def test_spend_limit_bad_input(personas, workspace, tier2, htmx, amount, message):
    response = client(personas.admin).post(
        url("workspace_spend_limit_change", workspace), {"amount": amount}, **htmx
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert not WorkspaceSpendLimit.objects.exists()


def test_empty_amount_removes_the_workspace_spend_limit(personas, workspace, tier2, htmx):
    c = client(personas.admin)
    c.post(url("workspace_spend_limit_change", workspace), {"amount": "100.50"}, **htmx)
    assert WorkspaceSpendLimit.objects.get().amount_cents == 100_50
    c.post(url("workspace_spend_limit_change", workspace), {"amount": ""}, **htmx)
    assert not WorkspaceSpendLimit.objects.exists()


def test_default_workspace_tab_is_read_only(personas):
    default = personas.default_workspace
    page = client(personas.admin).get(url("workspace_limits", default)).content.decode()
    assert "The Default workspace has no limits of its own" in page
    assert 'aria-label="Edit' not in page and "Change Limit" not in page
    response = client(personas.admin).post(
        url("workspace_spend_limit_change", default), {"amount": "5"}, HTTP_HX_REQUEST="true"
    )
    assert "Default workspace has no limits" in response.content.decode()


def test_archived_workspace_limits_are_read_only(personas, workspace, htmx):
    from workspaces.services import workspace_archive

    workspace_archive(actor=Actor.for_user(personas.admin), workspace=workspace)
    c = client(personas.admin)
    assert b'aria-label="Edit' not in c.get(url("workspace_limits", workspace)).content
    response = c.post(
        url("workspace_rate_limit_edit", workspace),
        {"model_group": "sonnet-4", "limiter": RPM, "value": "5"},
        **htmx,
    )
    assert b"archived" in response.content
    assert not WorkspaceRateLimit.objects.exists()


# -- Settings > Limits --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 200), ("billing", 200), ("developer", 200), ("user", 403)]
)
def test_organization_limits_page(personas, who, status):
    response = client(getattr(personas, who)).get(url("organization_limits"))
    assert response.status_code == status
    if status == 200:
        assert b"Tier 1" in response.content


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 204), ("billing", 403), ("developer", 403), ("user", 403)]
)
def test_organization_spend_limit_by_role(personas, htmx, who, status):
    response = client(getattr(personas, who)).post(
        url("organization_spend_limit_change"), {"amount": "60"}, **htmx
    )
    assert response.status_code == status


def test_organization_spend_limit_above_cap(personas, htmx):
    response = client(personas.admin).post(
        url("organization_spend_limit_change"), {"amount": "100.01"}, **htmx
    )
    assert b"at most your usage tier&#x27;s monthly cap ($100.00)" in response.content


def test_organization_notifications(personas, htmx):
    c = client(personas.admin)
    assert c.post(url("organization_notification_add"), {"amount": "30"}, **htmx).status_code == 204
    duplicate = c.post(url("organization_notification_add"), {"amount": "30"}, **htmx)
    assert b"already a notification" in duplicate.content
    assert (
        client(personas.billing)
        .post(url("organization_notification_remove", None, 30_00))
        .status_code
        == 403
    )
    assert (
        client(personas.outsider)
        .post(url("organization_notification_remove", None, 30_00))
        .status_code
        == 404
    )
    assert c.post(url("organization_notification_remove", None, 30_00), **htmx).status_code == 204
    assert c.post(url("organization_notification_remove", None, 30_00), **htmx).status_code == 404


# -- Query counts -----------------------------------------------------------------------------


def _more_groups(count: int) -> None:
    tier = UsageTier.objects.get(name="Tier 1")
    for i in range(count):
        group = ModelGroup.objects.create(name=f"Extra {i}", slug=f"extra-{i}", position=100 + i)
        for limiter in Limiter.values:
            TierLimit.objects.create(tier=tier, model_group=group, limiter=limiter, value=1000)


@pytest.mark.parametrize(("groups", "members"), [(0, 0), (20, 300)])
def test_limits_tab_queries_do_not_grow(
    personas, workspace, django_assert_num_queries, groups, members
):
    _more_groups(groups)
    for member in MemberFactory.create_batch(members, organization=personas.org):
        WorkspaceMemberFactory(workspace=workspace, user=member.user)
    c = client(personas.admin)
    c.get(url("workspace_limits", workspace))
    with django_assert_num_queries(16):
        response = c.get(url("workspace_limits", workspace))
    assert response.content.count(b"data-limit=") == (5 + groups) * 3


@pytest.mark.parametrize("groups", [0, 20])
def test_organization_limits_queries_do_not_grow(personas, django_assert_num_queries, groups):
    _more_groups(groups)
    c = client(personas.admin)
    c.get(url("organization_limits"))
    with django_assert_num_queries(13):  # the 13th counts the open increase requests
        c.get(url("organization_limits"))


def test_rate_limits_work_without_script(personas, workspace):
    """The pencil is a link and the forms post normally when there is no script."""
    c = client(personas.admin)
    editing = c.get(
        url("workspace_rate_limit_edit", workspace), {"model_group": "sonnet-4", "limiter": RPM}
    )
    page = editing.content.decode()
    assert "<html" in page and 'name="value"' in page and 'data-testid="spend-card"' in page
    refused = c.post(
        url("workspace_rate_limit_edit", workspace),
        {"model_group": "sonnet-4", "limiter": RPM, "value": "999"},
    )
    assert refused.status_code == 200 and "at most the organization" in html.unescape(
        refused.content.decode()
    )
    saved = c.post(
        url("workspace_rate_limit_edit", workspace),
        {"model_group": "sonnet-4", "limiter": RPM, "value": "9"},
    )
    assert saved.status_code == 302 and WorkspaceRateLimit.objects.get().value == 9
    reset = c.post(
        url("workspace_rate_limit_reset", workspace), {"model_group": "sonnet-4", "limiter": RPM}
    )
    assert reset.status_code == 302 and not WorkspaceRateLimit.objects.exists()
