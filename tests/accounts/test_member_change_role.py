"""Changing a member's organization role: in place, never your own, never the last
admin's, one audit event; on the page and in the staff admin."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import OrganizationMember
from accounts.roles import OrgRole
from tests.factories import MemberFactory
from tests.helpers import events, member_urls


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
        reverse("workspaces:member_change_role", args=[second.public_id]), {"role": "user"}, **htmx
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
