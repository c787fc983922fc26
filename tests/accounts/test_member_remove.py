"""Removing a member from the organization: with their workspace memberships, never
yourself."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import OrganizationMember
from tests.factories import MemberFactory, WorkspaceFactory, WorkspaceMemberFactory
from tests.helpers import events, member_urls
from workspaces.models import WorkspaceMember


def test_remove_member_dialog_and_post(client, personas, htmx):
    c = client(personas.admin)
    url = member_urls(personas.user)["remove"]
    dialog = c.get(url, **htmx)
    assert b"<dialog" in dialog.content and b"Remove member" in dialog.content
    response = c.post(url, **htmx)
    assert response.status_code == 204
    assert "members:changed" in response["HX-Trigger"]
    assert not OrganizationMember.objects.filter(
        organization=personas.org, user=personas.user
    ).exists()


def test_remove_member_without_htmx_redirects(client, personas):
    response = client(personas.admin).post(member_urls(personas.user)["remove"])
    assert response.status_code == 302 and response["Location"] == reverse(
        "workspaces:organization_members"
    )


def test_remove_member_drops_their_workspace_memberships(personas):
    workspace = WorkspaceFactory(organization=personas.org)
    WorkspaceMemberFactory(workspace=workspace, user=personas.developer)
    other_workspace = WorkspaceFactory(organization=personas.other_org)
    MemberFactory(organization=personas.other_org, user=personas.developer)
    WorkspaceMemberFactory(workspace=other_workspace, user=personas.developer)
    services.member_remove(
        actor=Actor.for_user(personas.admin), member=personas.member(personas.developer)
    )
    assert not OrganizationMember.objects.filter(
        organization=personas.org, user=personas.developer
    ).exists()
    assert not WorkspaceMember.objects.filter(workspace=workspace).exists()
    assert WorkspaceMember.objects.filter(workspace=other_workspace).exists()
    (event,) = events(personas.org)
    assert event.action == "member.remove"


def test_cannot_remove_yourself(personas):
    with pytest.raises(ValidationError, match="yourself"):
        services.member_remove(
            actor=Actor.for_user(personas.admin), member=personas.member(personas.admin)
        )
