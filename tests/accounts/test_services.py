"""Organization, member and invite services: their rules, and one audit event per write."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import services
from accounts.audit import Actor
from accounts.models import AuditEvent, Invite, InviteStatus, OrganizationMember
from accounts.roles import OrgRole
from tests.factories import MemberFactory, WorkspaceFactory, WorkspaceMemberFactory
from workspaces.models import WorkspaceMember


def events(org, action=None):
    found = AuditEvent.objects.filter(organization=org)
    return found.filter(action=action) if action else found


def test_rename_records_before_and_after(personas):
    actor = Actor.for_user(personas.admin)
    services.organization_rename(actor=actor, organization=personas.org, name="Acme 2")
    (event,) = events(personas.org, "organization.rename")
    assert event.before == {"name": "Acme Test"} and event.after == {"name": "Acme 2"}
    assert event.actor == personas.admin


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_rename_refuses_bad_names(personas, name):
    with pytest.raises(ValidationError):
        services.organization_rename(
            actor=Actor.for_user(personas.admin), organization=personas.org, name=name
        )
    personas.org.refresh_from_db()
    assert personas.org.name == "Acme Test"
    assert not events(personas.org).exists()


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


def test_remove_member_drops_their_workspace_memberships(personas):
    workspace = WorkspaceFactory(organization=personas.org)
    WorkspaceMemberFactory(workspace=workspace, user=personas.developer)
    other_workspace = WorkspaceFactory(organization=personas.other_org)
    MemberFactory(organization=personas.other_org, user=personas.developer)
    WorkspaceMemberFactory(workspace=other_workspace, user=personas.developer)
    services.member_remove(
        actor=Actor.for_user(personas.admin), member=personas.member(personas.developer)
    )
    assert not OrganizationMember.objects.filter(
        organization=personas.org, user=personas.developer
    ).exists()
    assert not WorkspaceMember.objects.filter(workspace=workspace).exists()
    assert WorkspaceMember.objects.filter(workspace=other_workspace).exists()
    (event,) = events(personas.org)
    assert event.action == "member.remove"


def test_cannot_remove_yourself(personas):
    with pytest.raises(ValidationError, match="yourself"):
        services.member_remove(
            actor=Actor.for_user(personas.admin), member=personas.member(personas.admin)
        )


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


def test_audit_events_are_append_only(personas):
    services.organization_rename(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="N"
    )
    event = AuditEvent.objects.get()
    event.action = "tampered"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().update(action="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
