"""Claude Code User is a real organization role: offered wherever roles are, and in the
console it may do what a User may."""

import pytest
from django.urls import reverse

from accounts.models import Invite, OrganizationMember
from accounts.roles import OrgRole
from tests.factories import MemberFactory, UserFactory


@pytest.fixture
def coder(personas):
    user = UserFactory(email="coder@acme.test")
    MemberFactory(organization=personas.org, user=user, role=OrgRole.CLAUDE_CODE_USER)
    return user


def test_offered_on_the_members_page_and_in_invites(client, personas):
    admin_client = client(personas.admin)
    page = admin_client.get(reverse("workspaces:organization_members")).content.decode()
    assert 'value="claude_code_user"' in page and "Claude Code User" in page
    admin_client.post(
        reverse("workspaces:invite_create"), {"email": "cc@acme.test", "role": "claude_code_user"}
    )
    assert Invite.objects.get(email="cc@acme.test").role == OrgRole.CLAUDE_CODE_USER
    admin_client.post(
        reverse("workspaces:member_change_role", args=[personas.user.public_id]),
        {"role": "claude_code_user"},
    )
    assert personas.member(personas.user).role == OrgRole.CLAUDE_CODE_USER


def test_may_do_what_a_user_may(client, personas, coder):
    client_for = client
    user_client = client(personas.user)
    as_coder = client_for(coder)
    for name in (
        "organization_members",
        "workspace_list",
        "api_key_list",
        "admin_key_list",
        "audit_log",
    ):
        url = reverse(f"workspaces:{name}")
        assert as_coder.get(url).status_code == user_client.get(url).status_code, name
    default = reverse("workspaces:workspace_detail", args=[personas.default_workspace.public_id])
    assert as_coder.get(default).status_code == user_client.get(default).status_code == 200
    assert OrganizationMember.objects.get(user=coder).role == "claude_code_user"
