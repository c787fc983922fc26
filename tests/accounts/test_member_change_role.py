"""Changing a member's organization role: in place, never your own, never the last
admin's, one audit event; on the page and in the staff admin."""

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import OrganizationMember
from accounts.roles import OrgRole, WorkspaceRole
from console.htmx import Event
from tests.factories import MemberFactory, WorkspaceFactory, WorkspaceMemberFactory
from tests.helpers import events, member_urls
from workspaces import services as workspace_services


def test_admin_changes_role(client, personas, htmx):
    c = client(personas.admin)
    response = c.post(member_urls(personas.user)["role"], {"role": "developer"}, **htmx)
    assert response.status_code == 200
    assert b"<tr" in response.content and b"<html" not in response.content
    assert personas.member(personas.user).role == OrgRole.DEVELOPER


def test_demoting_last_admin_shows_error_in_row(client, personas, htmx):
    second = MemberFactory(organization=personas.org, role=OrgRole.ADMIN).user
    c = client(second)
    c.post(reverse("workspaces:member_change_role", args=[second.public_id]), {"role": "user"})
    # Now demote the other admin while only one remains.
    c2 = client(personas.admin)
    c2.post(
        reverse("workspaces:member_change_role", args=[second.public_id]),
        {"role": "user", "confirm": "yes"},
        **htmx,
    )
    response = c.post(
        reverse("workspaces:member_change_role", args=[personas.admin.public_id]),
        {"role": "user"},
        **htmx,
    )
    assert response.status_code == 403  # no longer an admin


def test_last_admin_refusal_message(client, personas, htmx):
    other_admin = MemberFactory(organization=personas.org, role=OrgRole.ADMIN).user
    c = client(other_admin)
    personas.member(personas.admin).delete()  # other_admin is now the only admin
    response = c.post(reverse("workspaces:member_remove", args=[other_admin.public_id]), **htmx)
    assert b"cannot remove yourself" in response.content
    assert OrganizationMember.objects.filter(user=other_admin).exists()


def test_unknown_role_is_refused_with_message(client, personas, htmx):
    response = client(personas.admin).post(
        member_urls(personas.user)["role"], {"role": "owner"}, **htmx
    )
    assert b"Choose one of the roles" in response.content
    assert personas.member(personas.user).role == OrgRole.USER


def test_change_role_writes_one_event(personas):
    member = personas.member(personas.user)
    services.member_change_role(
        actor=Actor.for_user(personas.admin), member=member, role="developer"
    )
    member.refresh_from_db()
    assert member.role == OrgRole.DEVELOPER
    (event,) = events(personas.org)
    assert (event.action, event.target_id) == ("member.change_role", personas.user.public_id)
    assert event.before == {"role": "user"} and event.after == {"role": "developer"}


def test_cannot_change_own_role(personas):
    with pytest.raises(ValidationError, match="your own role"):
        services.member_change_role(
            actor=Actor.for_user(personas.admin),
            member=personas.member(personas.admin),
            role="user",
        )


def test_last_admin_cannot_be_demoted_or_removed(personas):
    admin = personas.member(personas.admin)
    with pytest.raises(ValidationError, match="last admin"):
        services.member_change_role(actor=Actor.system("staff"), member=admin, role="user")
    with pytest.raises(ValidationError, match="last admin"):
        services.member_remove(actor=Actor.system("staff"), member=admin)
    admin.refresh_from_db()
    assert admin.role == OrgRole.ADMIN
    assert not events(personas.org).exists()


def test_second_admin_can_be_demoted(personas):
    services.member_change_role(
        actor=Actor.for_user(personas.admin),
        member=personas.member(personas.developer),
        role="admin",
    )
    services.member_change_role(
        actor=Actor.for_user(personas.developer),
        member=personas.member(personas.admin),
        role="user",
    )
    assert personas.member(personas.admin).role == OrgRole.USER


def test_unknown_role_is_refused(personas):
    with pytest.raises(ValidationError, match="Choose one of the roles"):
        services.member_change_role(
            actor=Actor.for_user(personas.admin),
            member=personas.member(personas.user),
            role="owner",
        )


def test_admin_role_change_keeps_last_admin_rule(client, staff, personas):
    member = personas.member(personas.admin)
    client(staff).post(
        reverse("admin:accounts_organizationmember_change", args=[member.pk]), {"role": "user"}
    )
    member.refresh_from_db()
    assert member.role == "admin"


# -- Saying what a change of role changes, confirming the admin role, toasts -----------------


def _triggers(response) -> dict:
    return json.loads(response["HX-Trigger"])


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" :", ":").replace(" .", ".")


def _effects(response) -> dict[str, list[str]]:
    """The dialog's list of what changes, by kind of effect."""
    found: dict[str, list[str]] = {}
    for kind, body in re.findall(
        r'<li data-effect="(\w+)">(.*?)</li>', response.content.decode(), re.S
    ):
        found.setdefault(kind, []).append(_text(body))
    return found


def _submit_button(response) -> str:
    return re.search(
        r'<button class="([^"]*)" type="submit">([^<]*)</button>', response.content.decode()
    )


def _role_url(user) -> str:
    return reverse("workspaces:member_change_role", args=[user.public_id])


@pytest.fixture
def workspaces_of_developer(personas):
    """Research, where the developer persona is Workspace Developer; Staging and an archived
    Legacy, where they are not a member."""
    research = WorkspaceFactory(organization=personas.org, name="Research")
    WorkspaceMemberFactory(
        workspace=research, user=personas.developer, role=WorkspaceRole.DEVELOPER
    )
    staging = WorkspaceFactory(organization=personas.org, name="Staging")
    legacy = WorkspaceFactory(organization=personas.org, name="Legacy")
    workspace_services.workspace_archive(actor=Actor.for_user(personas.admin), workspace=legacy)
    return research, staging


def test_promotion_to_admin_asks_first_saying_what_changes(
    client, personas, workspaces_of_developer, htmx
):
    response = client(personas.admin).post(
        _role_url(personas.developer), {"role": OrgRole.ADMIN}, **htmx
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#modal"
    # The list is refreshed, so the select shows the role as it still is.
    assert Event.MEMBERS_CHANGED in _triggers(response)
    assert Event.TOAST not in _triggers(response)
    effects = _effects(response)
    assert "manage the organization" in effects["organization"][0]
    assert effects["gained"] == ["They join 1 workspace as Workspace Admin: Staging."]
    assert effects["changed"] == [
        "Workspace Admin instead of Workspace Developer in 2 workspaces: Default and Research."
    ]
    assert "lost" not in effects
    assert "Legacy" not in response.content.decode()  # archived: nothing changes there
    assert _submit_button(response).group(2) == "Make Admin"
    assert personas.member(personas.developer).role == OrgRole.DEVELOPER
    assert not events(personas.org, "member.change_role").exists()


def test_confirmed_promotion_saves_with_a_toast(client, personas, workspaces_of_developer, htmx):
    response = client(personas.admin).post(
        _role_url(personas.developer), {"role": OrgRole.ADMIN, "confirm": "yes"}, **htmx
    )
    assert response.status_code == 204
    triggers = _triggers(response)
    assert triggers[Event.TOAST]["value"] == (
        "developer@acme.test is now Admin. They are Workspace Admin in every workspace."
    )
    assert Event.MEMBERS_CHANGED in triggers and Event.CLOSE_MODAL in triggers
    assert personas.member(personas.developer).role == OrgRole.ADMIN
    (event,) = events(personas.org, "member.change_role")
    assert event.after == {"role": "admin"}


def test_demotion_from_admin_asks_first_saying_what_is_lost(
    client, personas, workspaces_of_developer, htmx
):
    c = client(personas.admin)
    c.post(_role_url(personas.developer), {"role": OrgRole.ADMIN, "confirm": "yes"}, **htmx)

    response = c.post(_role_url(personas.developer), {"role": OrgRole.USER}, **htmx)
    assert response["HX-Retarget"] == "#modal"
    effects = _effects(response)
    assert "no longer manage" in effects["organization"][0]
    assert effects["lost"] == [
        "They lose access to 1 workspace where they were Workspace Admin: Staging."
    ]
    # In Research they are an explicit member: that role is theirs again.
    assert effects["changed"] == [
        "Workspace User instead of Workspace Admin in 1 workspace: Default.",
        "Workspace Developer instead of Workspace Admin in 1 workspace: Research.",
    ]
    assert "btn--danger" in _submit_button(response).group(1)
    assert personas.member(personas.developer).role == OrgRole.ADMIN

    done = c.post(_role_url(personas.developer), {"role": OrgRole.USER, "confirm": "yes"}, **htmx)
    assert done.status_code == 204
    assert _triggers(done)[Event.TOAST]["value"] == "developer@acme.test is now User."
    assert personas.member(personas.developer).role == OrgRole.USER


def test_other_role_changes_save_at_once_with_a_toast(client, personas, htmx):
    response = client(personas.admin).post(
        _role_url(personas.user), {"role": OrgRole.BILLING}, **htmx
    )
    assert response.status_code == 200 and "HX-Retarget" not in response
    assert _triggers(response)[Event.TOAST]["value"] == "user@acme.test is now Billing."
    assert f'data-saved="{OrgRole.BILLING}"' in response.content.decode()
    assert personas.member(personas.user).role == OrgRole.BILLING


def test_refused_change_shows_in_the_row_with_the_saved_role(client, personas, htmx):
    response = client(personas.admin).post(_role_url(personas.user), {"role": "owner"}, **htmx)
    assert response.status_code == 200
    assert "HX-Trigger" not in response  # no toast for what was not saved
    row = response.content.decode()
    error_id = f"role-error-{personas.user.public_id}"
    assert f'id="{error_id}"><li>Choose one of the roles' in row
    assert f'aria-invalid="true" aria-describedby="{error_id}"' in row
    assert re.findall(r'<option value="(\w+)" selected>', row) == [OrgRole.USER]


def test_refused_confirmed_change_shows_in_the_dialog(client, personas, htmx):
    """The last admin cannot lose the role: said in the dialog, nothing changed."""
    other = MemberFactory(organization=personas.org, role=OrgRole.DEVELOPER).user
    personas.member(personas.admin).delete()
    OrganizationMember.objects.filter(user=other).update(role=OrgRole.ADMIN)
    lone = MemberFactory(organization=personas.org, role=OrgRole.ADMIN).user
    c = client(lone)
    c.post(_role_url(other), {"role": OrgRole.USER, "confirm": "yes"}, **htmx)
    response = c.post(_role_url(lone), {"role": OrgRole.USER, "confirm": "yes"}, **htmx)
    assert response.status_code == 200 and b"<dialog" in response.content
    assert b"your own role" in response.content


def test_the_confirmation_is_a_dialog_of_its_own_url(client, personas):
    c = client(personas.admin)
    page = c.get(_role_url(personas.user), {"role": OrgRole.ADMIN})
    assert page.status_code == 200
    assert b"<dialog" in page.content and b"<html" in page.content  # open on the settings page
    assert b"Make Admin" in page.content
    assert c.get(_role_url(personas.user), {"role": "owner"}).status_code == 400
    assert personas.member(personas.user).role == OrgRole.USER


def test_without_script_changes_redirect_with_a_message(client, personas):
    c = client(personas.admin)
    response = c.post(_role_url(personas.user), {"role": OrgRole.DEVELOPER}, follow=True)
    assert "user@acme.test is now Developer." in response.content.decode()
    asked = c.post(_role_url(personas.user), {"role": OrgRole.ADMIN})
    assert asked.status_code == 200 and b"<dialog" in asked.content
    assert personas.member(personas.user).role == OrgRole.DEVELOPER
