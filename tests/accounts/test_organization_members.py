"""Settings > Members: who may change memberships, another organization's members are
404, wrong methods 405, the page's queries."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Invite, OrganizationMember
from tests.factories import MemberFactory
from tests.helpers import member_urls


@pytest.mark.parametrize("who", ["billing", "developer", "user"])
def test_member_actions_need_admin(client, personas, who):
    urls = member_urls(personas.user)
    c = client(getattr(personas, who))
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


def test_member_of_another_organization_is_404(client, personas):
    """An admin of another organization cannot touch this organization's members."""
    c = client(personas.outsider)
    urls = member_urls(personas.user)
    assert c.post(urls["role"], {"role": "admin"}).status_code == 404
    assert c.post(urls["remove"]).status_code == 404
    assert OrganizationMember.objects.filter(organization=personas.org, user=personas.user).exists()


def test_wrong_methods_are_405(client, personas):
    c = client(personas.admin)
    urls = member_urls(personas.user)
    assert c.put(urls["role"]).status_code == 405
    assert c.put(urls["remove"]).status_code == 405
    assert c.post(reverse("workspaces:organization_members")).status_code == 405
    assert c.post(reverse("workspaces:audit_log")).status_code == 405
    assert c.delete(reverse("billing:organization")).status_code == 405


def _members_page_queries(client, personas, count: int) -> Client:
    """A client of the admin's, with `count` members in the organization."""
    existing = OrganizationMember.objects.filter(organization=personas.org).count()
    MemberFactory.create_batch(count - existing, organization=personas.org)
    c = client(personas.admin)
    c.get(reverse("workspaces:organization_members"))  # warm the session
    return c


@pytest.mark.parametrize("count", [5, 500])
def test_members_page_queries_do_not_grow(client, personas, django_assert_num_queries, count):
    c = _members_page_queries(client, personas, count)
    with django_assert_num_queries(7):
        response = c.get(reverse("workspaces:organization_members"))
    assert response.content.count(b'data-email="') == count
