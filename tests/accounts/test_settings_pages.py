"""The organization's Settings pages: who may open each, sign-in first, CSRF on every
post, names escaped, error pages in the console's layout."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import OrgRole
from tests.helpers import member_urls

PERSONAS = ["admin", "billing", "developer", "user"]


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
def test_pages_by_role(client, personas, name, method, allowed, who):
    response = client(getattr(personas, who)).get(reverse(name))
    assert response.status_code == (200 if who in allowed else 403)


@pytest.mark.parametrize(("name", "method", "allowed"), PAGES)
def test_pages_redirect_anonymous_to_sign_in(db, name, method, allowed):
    response = Client().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_html_in_names_is_escaped(client, personas):
    personas.user.name = "<script>alert(1)</script>"
    personas.user.save()
    response = client(personas.admin).get(reverse("workspaces:organization_members"))
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_posts_without_csrf_token_are_refused(personas):
    c = Client(enforce_csrf_checks=True)
    c.force_login(personas.admin)
    response = c.post(member_urls(personas.user)["role"], {"role": "developer"})
    assert response.status_code == 403
    assert personas.member(personas.user).role == OrgRole.USER


def test_error_pages_use_the_console_layout(client, personas):
    forbidden = client(personas.user).get(reverse("workspaces:audit_log"))
    assert forbidden.status_code == 403 and b"You can't open this page" in forbidden.content
    missing = client(personas.user).get("/settings/workspaces/wrkspc_nope/members/")
    assert missing.status_code == 404 and b"Nothing here" in missing.content
