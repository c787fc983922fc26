"""Sending a pending invite again: a new link valid for 21 days from now (the old one stops
working), one e-mail once it commits, one audit event; offered where the invite is refused
as a duplicate and in the list of pending invites."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.audit import Actor
from accounts.models import Invite, InviteStatus
from accounts.roles import OrgRole
from tests.helpers import events, toast_of


@pytest.fixture
def invite(personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite, token = services.invite_create(
            actor=Actor.for_user(personas.admin),
            organization=personas.org,
            email="ada@acme.test",
            role=OrgRole.DEVELOPER,
        )
    mail.outbox.clear()
    Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() + timedelta(days=2))
    invite.refresh_from_db()
    return invite, token


def test_resend_issues_a_new_link_and_mails_it(
    personas, invite, django_capture_on_commit_callbacks
):
    invite, old_token = invite
    with django_capture_on_commit_callbacks(execute=True):
        resent, token = services.invite_resend(actor=Actor.for_user(personas.admin), invite=invite)
    assert token != old_token
    assert services.invite_for_token(token).pk == invite.pk
    with pytest.raises(services.InviteUnusable):
        services.invite_for_token(old_token)
    assert resent.expires_at > timezone.now() + timedelta(days=20, hours=23)
    (message,) = mail.outbox
    assert message.to == ["ada@acme.test"] and token in message.body
    (event,) = events(personas.org, "invite.resend")
    assert event.target_id == invite.public_id and event.after["email"] == "ada@acme.test"


def test_only_pending_invites_are_resent(personas, invite):
    invite, _token = invite
    services.invite_revoke(actor=Actor.for_user(personas.admin), invite=invite)
    with pytest.raises(ValidationError, match="revoked and cannot be sent again"):
        services.invite_resend(actor=Actor.for_user(personas.admin), invite=invite)
    assert not events(personas.org, "invite.resend").exists()
    Invite.objects.filter(pk=invite.pk).update(
        status=InviteStatus.PENDING, expires_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(ValidationError, match="expired"):
        services.invite_resend(actor=Actor.for_user(personas.admin), invite=invite)


def test_duplicate_invite_offers_to_resend(client, personas, invite, htmx):
    invite, _token = invite
    c = client(personas.admin)
    refused = c.post(
        reverse("workspaces:invite_create"),
        {"email": "Ada@acme.test", "role": OrgRole.USER},
        **htmx,
    )
    page = refused.content.decode()
    assert "already has a pending invite" in page
    resend_url = reverse("workspaces:invite_resend", args=[invite.public_id])
    assert 'data-testid="pending-invite"' in page
    assert "ada@acme.test was invited as Developer" in page
    assert f'formaction="{resend_url}" hx-post="{resend_url}"' in page
    assert Invite.objects.count() == 1


def test_resend_from_the_page(client, personas, invite, htmx, django_capture_on_commit_callbacks):
    invite, _token = invite
    c = client(personas.admin)
    listing = c.get(reverse("workspaces:organization_members")).content.decode()
    url = reverse("workspaces:invite_resend", args=[invite.public_id])
    assert f'href="{url}"' in listing
    dialog = c.get(url, **htmx).content.decode()
    assert "<dialog" in dialog and "Send the invite for <strong>ada@acme.test</strong>" in dialog
    assert not mail.outbox
    with django_capture_on_commit_callbacks(execute=True):
        done = c.post(url, **htmx)
    assert done.status_code == 204
    assert toast_of(done) == (
        "Invite sent again to ada@acme.test. The link sent before no longer works."
    )
    assert "members:changed" in done["HX-Trigger"]
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(("who", "status"), [("developer", 403), ("outsider", 404)])
def test_resend_needs_invites_manage(client, personas, invite, who, status):
    invite, _token = invite
    url = reverse("workspaces:invite_resend", args=[invite.public_id])
    assert client(getattr(personas, who)).post(url).status_code == status
    assert not events(personas.org, "invite.resend").exists()
    assert not mail.outbox


def test_resend_of_a_used_invite_says_why_in_the_dialog(client, personas, invite, htmx):
    invite, _token = invite
    Invite.objects.filter(pk=invite.pk).update(status=InviteStatus.ACCEPTED)
    response = client(personas.admin).post(
        reverse("workspaces:invite_resend", args=[invite.public_id]), **htmx
    )
    assert response.status_code == 200
    assert b"accepted and cannot be sent again" in response.content


def test_pending_invites_show_when_exactly_they_expire(client, personas, invite):
    """An invite stops working at a moment, not on a day: the list shows the time of day and
    the zone, in the viewer's time zone."""
    invite, _token = invite
    expires = datetime(2027, 1, 5, 17, 30, tzinfo=UTC)
    Invite.objects.filter(pk=invite.pk).update(expires_at=expires)
    personas.admin.time_zone = "America/Los_Angeles"
    personas.admin.save(update_fields=["time_zone"])
    listing = client(personas.admin).get(reverse("workspaces:organization_members"))
    row = listing.content.decode().split('data-email="ada@acme.test"', 1)[1].split("</tr>", 1)[0]
    assert ">5 Jan 2027, 09:30 PST</time>" in row
