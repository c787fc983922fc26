"""Signing in and out, password reset, and invite links."""

import re
from datetime import timedelta

import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.audit import Actor
from accounts.models import OrganizationMember, User
from tests.factories import PASSWORD


def test_sign_in_with_email_and_password(personas):
    c = Client()
    response = c.post(
        reverse("accounts:login"), {"username": "ADMIN@acme.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert c.get("/").status_code == 302  # to the workspaces page


def test_wrong_password_shows_error(personas):
    response = Client().post(
        reverse("accounts:login"), {"username": "admin@acme.test", "password": "nope"}
    )
    assert response.status_code == 200
    assert b"match an account" in response.content


def test_sign_out_is_a_post(personas):
    c = Client()
    c.force_login(personas.admin)
    assert c.post(reverse("accounts:logout")).status_code == 302
    assert c.get(reverse("accounts:members")).status_code == 302


def test_password_reset_by_email(personas):
    c = Client()
    response = c.post(reverse("accounts:password_reset"), {"email": "developer@acme.test"})
    assert response.status_code == 302
    (message,) = mail.outbox
    link = re.search(r"https?://[^\s]+", message.body).group(0)
    path = link.split("testserver", 1)[1]
    form_page = c.get(path, follow=True)
    assert b"Choose a new password" in form_page.content
    done = c.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand-new-secret-42", "new_password2": "brand-new-secret-42"},
    )
    assert done.status_code == 302
    assert User.objects.get(email="developer@acme.test").check_password("brand-new-secret-42")


def test_password_reset_for_unknown_email_reveals_nothing(db):
    response = Client().post(reverse("accounts:password_reset"), {"email": "nobody@x.test"})
    assert response.status_code == 302
    assert not mail.outbox


def test_public_pages_need_no_sign_in(db):
    for name in ["accounts:login", "accounts:password_reset"]:
        assert Client().get(reverse(name)).status_code == 200


def _invite(personas, email="new@x.test", role="developer"):
    return services.invite_create(
        actor=Actor.for_user(personas.admin), organization=personas.org, email=email, role=role
    )


ACCEPT_URL = "/invites/accept/"


def _open_invite(client: Client, token: str):
    """Follow an invite link as its e-mail gives it: the token is swapped for the session."""
    link = client.get(reverse("accounts:invite_accept", args=[token]))
    assert link.status_code == 302 and link["Location"] == ACCEPT_URL
    return client.get(ACCEPT_URL)


def test_accept_invite_as_new_person(personas):
    _, token = _invite(personas)
    c = Client()
    page = _open_invite(c, token)
    assert b"Join Acme Test" in page.content
    assert token.encode() not in page.content
    response = c.post(ACCEPT_URL, {"name": "New Person", "password": "a-strong-passphrase"})
    assert response.status_code == 302
    member = OrganizationMember.objects.get(user__email="new@x.test")
    assert member.role == "developer" and member.organization == personas.org
    assert c.get(reverse("accounts:members")).status_code == 200  # signed in


def test_accept_invite_weak_password_is_refused(personas):
    _, token = _invite(personas)
    c = Client()
    _open_invite(c, token)
    response = c.post(ACCEPT_URL, {"name": "N", "password": "123"})
    assert response.status_code == 200
    assert b"too short" in response.content
    assert not User.objects.filter(email="new@x.test").exists()


def test_accept_invite_existing_user_must_sign_in(personas):
    _, token = _invite(personas, email="outsider@other.test")
    page = _open_invite(Client(), token)
    assert b"Sign in to accept" in page.content
    assert f"next={ACCEPT_URL}".encode() in page.content
    c = Client()
    _open_invite(c, token)
    c.force_login(personas.outsider)
    assert c.post(ACCEPT_URL).status_code == 302
    assert OrganizationMember.objects.filter(
        organization=personas.org, user=personas.outsider
    ).exists()


def test_accept_invite_signed_in_as_someone_else(personas):
    _, token = _invite(personas)
    c = Client()
    c.force_login(personas.developer)
    _open_invite(c, token)
    response = c.post(ACCEPT_URL)
    assert response.status_code == 403
    assert b"this invite is for new@x.test" in response.content
    assert not User.objects.filter(email="new@x.test").exists()


def test_unusable_invite_links_explain_why(personas):
    invite, token = _invite(personas)
    assert (
        b"not valid" in Client().get(reverse("accounts:invite_accept", args=["tampered"])).content
    )
    with time_machine.travel(timezone.now() + timedelta(days=22)):
        assert b"expired" in Client().get(reverse("accounts:invite_accept", args=[token])).content
    services.invite_revoke(actor=Actor.for_user(personas.admin), invite=invite)
    response = Client().get(reverse("accounts:invite_accept", args=[token]))
    assert response.status_code == 410 and b"revoked" in response.content
    _, used = _invite(personas, email="used@x.test")
    services.invite_accept(token=used, name="U", password="a-strong-passphrase")
    assert (
        b"already been used" in Client().get(reverse("accounts:invite_accept", args=[used])).content
    )


def test_the_accept_page_without_an_opened_invite_explains_it(db):
    response = Client().get(ACCEPT_URL)
    assert response.status_code == 410 and b"not valid" in response.content


def test_posting_to_the_link_itself_accepts_nothing(personas):
    _, token = _invite(personas)
    response = Client().post(
        reverse("accounts:invite_accept", args=[token]),
        {"name": "New Person", "password": "a-strong-passphrase"},
    )
    assert response.status_code == 302
    assert not User.objects.filter(email="new@x.test").exists()


def test_user_without_organization_sees_explanation(db):
    lonely = User.objects.create_user("lonely@x.test", "pw-123456789")
    c = Client()
    c.force_login(lonely)
    response = c.get("/")
    assert b"not in an organization" in response.content
    assert c.get(reverse("accounts:members")).status_code == 404
