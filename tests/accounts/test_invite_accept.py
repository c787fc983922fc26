"""Accepting an invite: as a new person or as the invited account, never as someone else;
unusable links say why."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.audit import Actor
from accounts.models import InviteStatus, OrganizationMember, User
from accounts.roles import OrgRole
from tests.helpers import events


def test_accept_creates_user_and_membership(personas):
    invite, token = services.invite_create(
        actor=Actor.for_user(personas.admin),
        organization=personas.org,
        email="new@p.test",
        role="billing",
    )
    member = services.invite_accept(token=token, name="New Person", password="a-long-password")
    assert member.role == OrgRole.BILLING and member.user.name == "New Person"
    invite.refresh_from_db()
    assert invite.status == InviteStatus.ACCEPTED
    event = events(personas.org, "invite.accept").get()
    assert event.actor == member.user
    with pytest.raises(services.InviteUnusable) as problem:
        services.invite_accept(token=token, name="Again", password="a-long-password")
    assert problem.value.reason == "accepted"


def test_accept_as_existing_user_must_match_email(personas):
    _, token = services.invite_create(
        actor=Actor.for_user(personas.admin),
        organization=personas.org,
        email="outsider@other.test",
        role="user",
    )
    with pytest.raises(PermissionDenied):
        services.invite_accept(token=token, user=personas.developer)
    with pytest.raises(PermissionDenied):
        services.invite_accept(token=token, name="X", password="a-long-password")
    member = services.invite_accept(token=token, user=personas.outsider)
    assert member.organization == personas.org


def test_expired_revoked_and_tampered_tokens(personas):
    actor = Actor.for_user(personas.admin)
    _, token = services.invite_create(
        actor=actor, organization=personas.org, email="e@p.test", role="user"
    )
    with time_machine.travel(timezone.now() + timedelta(days=21, seconds=1)):
        with pytest.raises(services.InviteUnusable) as problem:
            services.invite_for_token(token)
        assert problem.value.reason == "expired"
    with pytest.raises(services.InviteUnusable) as problem:
        services.invite_for_token(token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert problem.value.reason == "unknown"
    invite, token2 = services.invite_create(
        actor=actor, organization=personas.org, email="r@p.test", role="user"
    )
    services.invite_revoke(actor=actor, invite=invite)
    with pytest.raises(services.InviteUnusable) as problem:
        services.invite_for_token(token2)
    assert problem.value.reason == "deleted"
    with pytest.raises(ValidationError):
        services.invite_revoke(actor=actor, invite=invite)
    assert events(personas.org, "invite.revoke").count() == 1


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
    assert c.get(reverse("workspaces:organization_members")).status_code == 200  # signed in


def test_accept_invite_weak_password_is_refused(personas):
    _, token = _invite(personas)
    c = Client()
    _open_invite(c, token)
    response = c.post(ACCEPT_URL, {"name": "N", "password": "123"})
    assert response.status_code == 200
    assert b"too short" in response.content
    assert not User.objects.filter(email="new@x.test").exists()


def test_accept_invite_existing_user_must_sign_in(client, personas):
    _, token = _invite(personas, email="outsider@other.test")
    page = _open_invite(Client(), token)
    assert b"Sign in to accept" in page.content
    assert f"next={ACCEPT_URL}".encode() in page.content
    c = client(personas.outsider)
    _open_invite(c, token)
    assert c.post(ACCEPT_URL).status_code == 302
    assert OrganizationMember.objects.filter(
        organization=personas.org, user=personas.outsider
    ).exists()


def test_accept_invite_signed_in_as_someone_else(client, personas):
    _, token = _invite(personas)
    c = client(personas.developer)
    _open_invite(c, token)
    response = c.post(ACCEPT_URL)
    assert response.status_code == 403
    assert b"this invite is for new@x.test" in response.content
    assert not User.objects.filter(email="new@x.test").exists()


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
