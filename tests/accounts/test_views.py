"""Organization, Members and Audit log pages: the permission triad, bad input, queries."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Invite, OrganizationMember
from accounts.roles import OrgRole
from tests.factories import MemberFactory

PERSONAS = ["admin", "billing", "developer", "user"]


def client(personas, who: str) -> Client:
    c = Client()
    c.force_login(getattr(personas, who))
    return c


# (url name, kwargs builder, method, personas allowed)
PAGES = [
    ("billing:organization", "GET", {"admin", "billing", "developer", "user"}),
    ("workspaces:organization_members", "GET", {"admin", "billing", "developer", "user"}),
    ("workspaces:audit_log", "GET", {"admin"}),
    ("billing:organization_rename", "GET", {"admin"}),
    ("workspaces:invite_create", "GET", {"admin"}),
]


@pytest.mark.parametrize(("name", "method", "allowed"), PAGES)
@pytest.mark.parametrize("who", PERSONAS)
def test_pages_by_role(personas, name, method, allowed, who):
    response = client(personas, who).get(reverse(name))
    assert response.status_code == (200 if who in allowed else 403)


@pytest.mark.parametrize(("name", "method", "allowed"), PAGES)
def test_pages_redirect_anonymous_to_sign_in(db, name, method, allowed):
    response = Client().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def _member_urls(personas):
    target = personas.user.public_id
    return {
        "role": reverse("workspaces:member_change_role", args=[target]),
        "remove": reverse("workspaces:member_remove", args=[target]),
    }


@pytest.mark.parametrize("who", ["billing", "developer", "user"])
def test_member_actions_need_admin(personas, who):
    urls = _member_urls(personas)
    c = client(personas, who)
    assert c.post(urls["role"], {"role": "developer"}).status_code == 403
    assert c.post(urls["remove"]).status_code == 403
    assert (
        c.post(
            reverse("workspaces:invite_create"), {"email": "a@b.test", "role": "user"}
        ).status_code
        == 403
    )
    assert (
        OrganizationMember.objects.get(organization=personas.org, user=personas.user).role == "user"
    )
    assert not Invite.objects.exists()


def test_member_of_another_organization_is_404(personas):
    """An admin of another organization cannot touch this organization's members."""
    c = client(personas, "outsider")
    urls = _member_urls(personas)
    assert c.post(urls["role"], {"role": "admin"}).status_code == 404
    assert c.post(urls["remove"]).status_code == 404
    assert OrganizationMember.objects.filter(organization=personas.org, user=personas.user).exists()


def test_wrong_methods_are_405(personas):
    c = client(personas, "admin")
    urls = _member_urls(personas)
    assert c.get(urls["role"]).status_code == 405
    assert c.put(urls["remove"]).status_code == 405
    assert c.post(reverse("workspaces:organization_members")).status_code == 405
    assert c.post(reverse("workspaces:audit_log")).status_code == 405
    assert c.delete(reverse("billing:organization")).status_code == 405


def test_admin_changes_role(personas, htmx):
    c = client(personas, "admin")
    response = c.post(_member_urls(personas)["role"], {"role": "developer"}, **htmx)
    assert response.status_code == 200
    assert b"<tr" in response.content and b"<html" not in response.content
    assert personas.member(personas.user).role == OrgRole.DEVELOPER


def test_demoting_last_admin_shows_error_in_row(personas, htmx):
    second = MemberFactory(organization=personas.org, role=OrgRole.ADMIN).user
    c = Client()
    c.force_login(second)
    c.post(reverse("workspaces:member_change_role", args=[second.public_id]), {"role": "user"})
    # Now demote the other admin while only one remains.
    c2 = client(personas, "admin")
    c2.post(
        reverse("workspaces:member_change_role", args=[second.public_id]), {"role": "user"}, **htmx
    )
    response = c.post(
        reverse("workspaces:member_change_role", args=[personas.admin.public_id]),
        {"role": "user"},
        **htmx,
    )
    assert response.status_code == 403  # no longer an admin


def test_last_admin_refusal_message(personas, htmx):
    other_admin = MemberFactory(organization=personas.org, role=OrgRole.ADMIN).user
    c = Client()
    c.force_login(other_admin)
    personas.member(personas.admin).delete()  # other_admin is now the only admin
    response = c.post(reverse("workspaces:member_remove", args=[other_admin.public_id]), **htmx)
    assert b"cannot remove yourself" in response.content
    assert OrganizationMember.objects.filter(user=other_admin).exists()


def test_unknown_role_is_refused_with_message(personas, htmx):
    response = client(personas, "admin").post(
        _member_urls(personas)["role"], {"role": "owner"}, **htmx
    )
    assert b"Choose one of the roles" in response.content
    assert personas.member(personas.user).role == OrgRole.USER


def test_remove_member_dialog_and_post(personas, htmx):
    c = client(personas, "admin")
    url = _member_urls(personas)["remove"]
    dialog = c.get(url, **htmx)
    assert b"<dialog" in dialog.content and b"Remove member" in dialog.content
    response = c.post(url, **htmx)
    assert response.status_code == 204
    assert "members:changed" in response["HX-Trigger"]
    assert not OrganizationMember.objects.filter(
        organization=personas.org, user=personas.user
    ).exists()


def test_remove_member_without_htmx_redirects(personas):
    response = client(personas, "admin").post(_member_urls(personas)["remove"])
    assert response.status_code == 302 and response["Location"] == reverse(
        "workspaces:organization_members"
    )


def test_invite_via_page(personas, htmx, django_capture_on_commit_callbacks):
    c = client(personas, "admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(
            reverse("workspaces:invite_create"),
            {"email": "new@x.test", "role": "developer"},
            **htmx,
        )
    assert response.status_code == 204
    assert Invite.objects.get().email == "new@x.test"
    assert len(mail.outbox) == 1
    listing = c.get(reverse("workspaces:organization_members"))
    assert b"new@x.test" in listing.content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "", "role": "user"}, b"This field is required"),
        ({"email": "not-an-email", "role": "user"}, b"Enter a valid email address"),
        ({"email": "user@acme.test", "role": "user"}, b"already a member"),
        ({"email": "x@x.test", "role": "owner"}, b"Select a valid choice"),
    ],
)
def test_invite_bad_input_stays_in_dialog(personas, htmx, data, message):
    response = client(personas, "admin").post(reverse("workspaces:invite_create"), data, **htmx)
    assert response.status_code == 200
    assert b"<dialog" in response.content
    assert message in response.content
    assert not Invite.objects.exists()


def test_inviting_twice_is_refused(personas, htmx):
    c = client(personas, "admin")
    c.post(reverse("workspaces:invite_create"), {"email": "twice@x.test", "role": "user"}, **htmx)
    response = c.post(
        reverse("workspaces:invite_create"), {"email": "twice@x.test", "role": "user"}, **htmx
    )
    assert b"already has a pending invite" in response.content
    assert Invite.objects.count() == 1


def test_revoke_invite(personas, htmx):
    c = client(personas, "admin")
    c.post(reverse("workspaces:invite_create"), {"email": "r@x.test", "role": "user"}, **htmx)
    invite = Invite.objects.get()
    assert (
        c.post(reverse("workspaces:invite_revoke", args=[invite.public_id]), **htmx).status_code
        == 204
    )
    invite.refresh_from_db()
    assert invite.status == "deleted"
    assert (
        client(personas, "outsider")
        .post(reverse("workspaces:invite_revoke", args=[invite.public_id]))
        .status_code
        == 404
    )


def test_rename_organization(personas, htmx):
    c = client(personas, "admin")
    response = c.post(reverse("billing:organization_rename"), {"name": "Acme Renamed"}, **htmx)
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    personas.org.refresh_from_db()
    assert personas.org.name == "Acme Renamed"


def test_rename_with_huge_name_shows_error_and_changes_nothing(personas, htmx):
    response = client(personas, "admin").post(
        reverse("billing:organization_rename"), {"name": "x" * 10_000}, **htmx
    )
    assert b"at most 100 characters" in response.content
    personas.org.refresh_from_db()
    assert personas.org.name == "Acme Test"
    assert not AuditEvent.objects.exists()


def test_html_in_names_is_escaped(personas):
    personas.user.name = "<script>alert(1)</script>"
    personas.user.save()
    response = client(personas, "admin").get(reverse("workspaces:organization_members"))
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_posts_without_csrf_token_are_refused(personas):
    c = Client(enforce_csrf_checks=True)
    c.force_login(personas.admin)
    response = c.post(_member_urls(personas)["role"], {"role": "developer"})
    assert response.status_code == 403
    assert personas.member(personas.user).role == OrgRole.USER


def test_organization_page_shows_id_with_copy_button(personas):
    response = client(personas, "user").get(reverse("billing:organization"))
    assert str(personas.org.id).encode() in response.content
    assert b"data-copy" in response.content


def _members_page_queries(personas, django_assert_num_queries, count: int) -> None:
    existing = OrganizationMember.objects.filter(organization=personas.org).count()
    MemberFactory.create_batch(count - existing, organization=personas.org)
    c = client(personas, "admin")
    c.get(reverse("workspaces:organization_members"))  # warm the session
    return c


@pytest.mark.parametrize("count", [5, 500])
def test_members_page_queries_do_not_grow(personas, django_assert_num_queries, count):
    c = _members_page_queries(personas, django_assert_num_queries, count)
    with django_assert_num_queries(7):
        response = c.get(reverse("workspaces:organization_members"))
    assert response.content.count(b'data-email="') == count


def test_audit_log_lists_newest_first_and_filters(personas, htmx):
    c = client(personas, "admin")
    c.post(reverse("billing:organization_rename"), {"name": "First"}, **htmx)
    c.post(_member_urls(personas)["role"], {"role": "developer"}, **htmx)
    page = c.get(reverse("workspaces:audit_log"))
    assert [e.action for e in page.context["page"].items] == [
        "member.change_role",
        "organization.rename",
    ]
    assert b"Member role changed" in page.content
    filtered = c.get(reverse("workspaces:audit_log"), {"action": "organization.rename"})
    assert [e.action for e in filtered.context["page"].items] == ["organization.rename"]
    by_actor = c.get(reverse("workspaces:audit_log"), {"actor": personas.user.public_id})
    assert by_actor.context["page"].items == []


def test_audit_log_pages_by_cursor(personas, htmx):
    c = client(personas, "admin")
    for i in range(55):
        c.post(reverse("billing:organization_rename"), {"name": f"Name {i}"}, **htmx)
    first = c.get(reverse("workspaces:audit_log"))
    cursor = first.context["page"].next_cursor
    assert cursor and len(first.context["page"].items) == 50
    second = c.get(reverse("workspaces:audit_log"), {"cursor": cursor})
    assert len(second.context["page"].items) == 5
    assert second.context["page"].next_cursor is None
    bogus = c.get(reverse("workspaces:audit_log"), {"cursor": "forged"})
    assert bogus.status_code == 200 and len(bogus.context["page"].items) == 50


def test_switch_organization(personas):
    MemberFactory(organization=personas.other_org, user=personas.developer, role=OrgRole.ADMIN)
    c = client(personas, "developer")
    assert c.get(reverse("workspaces:audit_log")).status_code == 403
    c.post(reverse("accounts:organization_switch"), {"organization_id": str(personas.other_org.id)})
    assert c.get(reverse("workspaces:audit_log")).status_code == 200
    # An organization the user does not belong to cannot be chosen.
    outsider = client(personas, "outsider")
    outsider.post(
        reverse("accounts:organization_switch"), {"organization_id": str(personas.org.id)}
    )
    assert (
        outsider.get(reverse("billing:organization")).context["organization"] == personas.other_org
    )


def test_organization_page_shows_usage_tier(personas):
    response = client(personas, "developer").get(reverse("billing:organization"))
    assert b"Tier 1" in response.content and b"$100.00" in response.content


def test_error_pages_use_the_console_layout(personas):
    forbidden = client(personas, "user").get(reverse("workspaces:audit_log"))
    assert forbidden.status_code == 403 and b"You can't open this page" in forbidden.content
    missing = client(personas, "user").get("/settings/workspaces/wrkspc_nope/members/")
    assert missing.status_code == 404 and b"Nothing here" in missing.content
