"""Revoking an invite, on the page and in the staff admin."""

from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import Invite


def test_revoke_invite(client, personas, htmx):
    c = client(personas.admin)
    c.post(reverse("workspaces:invite_create"), {"email": "r@x.test", "role": "user"}, **htmx)
    invite = Invite.objects.get()
    assert (
        c.post(reverse("workspaces:invite_revoke", args=[invite.public_id]), **htmx).status_code
        == 204
    )
    invite.refresh_from_db()
    assert invite.status == "deleted"
    assert (
        client(personas.outsider)
        .post(reverse("workspaces:invite_revoke", args=[invite.public_id]))
        .status_code
        == 404
    )


def test_admin_revoke_invites_action(client, staff, personas):
    invite, _ = services.invite_create(
        actor=Actor.for_user(personas.admin),
        organization=personas.org,
        email="r@x.test",
        role="user",
    )
    client(staff).post(
        reverse("admin:accounts_invite_changelist"),
        {"action": "revoke", "_selected_action": [invite.pk]},
    )
    invite.refresh_from_db()
    assert invite.status == "deleted"
