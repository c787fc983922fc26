"""Inviting someone: one e-mail with a link whose token is stored only hashed, sent once
the invite commits; not members, not twice."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import Invite
from tests.helpers import events


def test_invite_via_page(client, personas, htmx, django_capture_on_commit_callbacks):
    c = client(personas.admin)
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
def test_invite_bad_input_stays_in_dialog(client, personas, htmx, data, message):
    response = client(personas.admin).post(reverse("workspaces:invite_create"), data, **htmx)
    assert response.status_code == 200
    assert b"<dialog" in response.content
    assert message in response.content
    assert not Invite.objects.exists()


def test_inviting_twice_is_refused(client, personas, htmx):
    c = client(personas.admin)
    c.post(reverse("workspaces:invite_create"), {"email": "twice@x.test", "role": "user"}, **htmx)
    response = c.post(
        reverse("workspaces:invite_create"), {"email": "twice@x.test", "role": "user"}, **htmx
    )
    assert b"already has a pending invite" in response.content
    assert Invite.objects.count() == 1


def test_invite_sends_email_with_link_and_stores_only_hash(
    personas, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite, token = services.invite_create(
            actor=Actor.for_user(personas.admin),
            organization=personas.org,
            email="New@Person.test",
            role="developer",
        )
    assert invite.email == "new@person.test"
    assert invite.expires_at - invite.created_at == timedelta(days=21)
    assert token not in invite.token_hash
    assert len(mail.outbox) == 1
    assert token in mail.outbox[0].body
    assert mail.outbox[0].to == ["new@person.test"]
    (event,) = events(personas.org)
    assert (event.action, event.target_id) == ("invite.create", invite.public_id)


def test_invite_refuses_members_and_duplicates(personas):
    actor = Actor.for_user(personas.admin)
    with pytest.raises(ValidationError, match="already a member"):
        services.invite_create(
            actor=actor, organization=personas.org, email="user@acme.test", role="user"
        )
    services.invite_create(actor=actor, organization=personas.org, email="x@y.test", role="user")
    with pytest.raises(ValidationError, match="pending invite"):
        services.invite_create(
            actor=actor, organization=personas.org, email="X@y.test", role="user"
        )
    assert Invite.objects.count() == 1


@pytest.mark.parametrize("email", ["", "not-an-email", "a@", "<script>@x.test"])
def test_invite_refuses_malformed_email(personas, email):
    with pytest.raises(ValidationError):
        services.invite_create(
            actor=Actor.for_user(personas.admin),
            organization=personas.org,
            email=email,
            role="user",
        )
    assert not Invite.objects.exists()
    assert not mail.outbox


def test_rolled_back_invite_sends_nothing(personas, django_capture_on_commit_callbacks):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        services.invite_create(
            actor=Actor.for_user(personas.admin),
            organization=personas.org,
            email="z@z.test",
            role="user",
        )
        raise RuntimeError
    assert not mail.outbox
    assert not Invite.objects.exists()


def test_an_invite_joins_no_rbac_groups(personas):
    with pytest.raises(ValidationError) as refused:
        services.invite_create(
            actor=Actor.for_user(personas.admin),
            organization=personas.org,
            email="grouped@x.test",
            role="user",
            rbac_group_ids=["rbac_group_1"],
        )
    assert refused.value.error_dict["rbac_group_ids"][0].code == "rbac_group_not_found"
    assert not Invite.objects.filter(email="grouped@x.test").exists()


def test_invites_are_listed_by_their_current_status(personas):
    from django.utils import timezone

    from accounts import selectors

    admin = Actor.for_user(personas.admin)
    made = {
        status: services.invite_create(
            actor=admin, organization=personas.org, email=f"{status}@x.test", role="user"
        )[0]
        for status in ("pending", "accepted", "expired", "deleted")
    }
    Invite.objects.filter(pk=made["accepted"].pk).update(status="accepted")
    Invite.objects.filter(pk=made["expired"].pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    services.invite_revoke(actor=admin, invite=made["deleted"])

    def listed(**filters):
        return {i.email.split("@")[0] for i in selectors.invites(personas.org, **filters)}

    assert listed() == {"pending", "accepted", "expired"}
    assert listed(statuses=["expired"]) == {"expired"}
    assert listed(statuses=["deleted"]) == {"deleted"}
    assert listed(email="PENDING@x.test") == {"pending"}
    assert listed(roles=["developer"]) == set()
    assert {i.email for i in Invite.objects.pending()} == {"pending@x.test"}
